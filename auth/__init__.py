"""OAuth2 authorization server, access tokens, API keys and the hub's secret key (security
issue); admin accounts, policy and audit live in their own modules.

Imports ``hub`` only; the gateway mounts the endpoints and calls :func:`verify_access_token`
and :func:`verify_api_key` from its one ``authenticate`` dependency.
"""

from auth import _policy as policy
from auth._admins import (
    AdminInfo,
    admin_action,
    create_admin,
    get_admin,
    list_admins,
    login,
    reset_password,
    sso_login,
    start_session,
    update_admin,
)
from auth._apikeys import (
    API_KEY_PREFIX,
    ApiKeyInfo,
    CreatedApiKey,
    create_api_key,
    list_api_keys,
    looks_like_api_key,
    revoke_api_key,
    rotate_api_key,
    verify_api_key,
)
from auth._audit_checkpoint import (
    CHECKPOINT_TYPE,
    create_audit_checkpoint,
    read_audit_checkpoint,
    verify_audit_checkpoint,
)
from auth._audit_query import AuditFilter, query_audit
from auth._authority import Authority, authority
from auth._clients import (
    AUTH_METHODS,
    CLIENT_SCOPES,
    DEFAULT_SCOPES,
    ClientInfo,
    CreatedClient,
    check_jwks,
    check_scopes,
    create_client,
    get_client,
    list_clients,
    rotate_client_secret,
    set_client_active,
)
from auth._clients import _update_client as update_client
from auth._keys import ALLOWED_ALGORITHMS, rotate_signing_keys
from auth._oauth import (
    JWKS_PATH,
    METADATA_PATH,
    TOKEN_PATH,
    jwks,
    server_metadata,
    token_endpoint,
    token_endpoint_url,
)
from auth._policy import HUB_ADMIN, RECORDS_READ, RECORDS_WRITE, ROLES, admin_scopes, require_scope
from auth._ratelimit import RateLimiter
from auth._registry_admin import SuccessorLink, create_agency, list_agencies, update_agency
from auth._rekey import reseal_signing_keys, stale_hashes
from auth._secrets import SecretBox, load_secret_key, secret_key_path
from auth._sessions import end_session, live_session, open_session, session_id
from auth._tokens import IssuedToken, issue_access_token, looks_like_jwt, verify_access_token

__all__ = [
    "ALLOWED_ALGORITHMS",
    "API_KEY_PREFIX",
    "AUTH_METHODS",
    "CHECKPOINT_TYPE",
    "CLIENT_SCOPES",
    "DEFAULT_SCOPES",
    "HUB_ADMIN",
    "JWKS_PATH",
    "METADATA_PATH",
    "RECORDS_READ",
    "RECORDS_WRITE",
    "ROLES",
    "TOKEN_PATH",
    "AdminInfo",
    "ApiKeyInfo",
    "AuditFilter",
    "Authority",
    "ClientInfo",
    "CreatedApiKey",
    "CreatedClient",
    "IssuedToken",
    "RateLimiter",
    "SecretBox",
    "SuccessorLink",
    "admin_action",
    "admin_scopes",
    "authority",
    "check_jwks",
    "check_scopes",
    "create_admin",
    "create_agency",
    "create_api_key",
    "create_audit_checkpoint",
    "create_client",
    "end_session",
    "get_admin",
    "get_client",
    "issue_access_token",
    "jwks",
    "list_admins",
    "list_agencies",
    "list_api_keys",
    "list_clients",
    "live_session",
    "load_secret_key",
    "login",
    "looks_like_api_key",
    "looks_like_jwt",
    "open_session",
    "policy",
    "query_audit",
    "read_audit_checkpoint",
    "require_scope",
    "reseal_signing_keys",
    "reset_password",
    "revoke_api_key",
    "rotate_api_key",
    "rotate_client_secret",
    "rotate_signing_keys",
    "secret_key_path",
    "server_metadata",
    "session_id",
    "set_client_active",
    "sso_login",
    "stale_hashes",
    "start_session",
    "token_endpoint",
    "token_endpoint_url",
    "update_admin",
    "update_agency",
    "update_client",
    "verify_access_token",
    "verify_api_key",
    "verify_audit_checkpoint",
]
