"""OAuth2 authorization server, access tokens, API keys and the hub's secret key (security
issue); admin accounts, policy and audit live in their own modules.

Imports ``hub`` only; the gateway mounts the endpoints and calls :func:`verify_access_token`
and :func:`verify_api_key` from its one ``authenticate`` dependency.
"""

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
from auth._authority import Authority, authority
from auth._clients import (
    AUTH_METHODS,
    CLIENT_SCOPES,
    DEFAULT_SCOPES,
    ClientInfo,
    CreatedClient,
    check_jwks,
    create_client,
    get_client,
    list_clients,
    rotate_client_secret,
    set_client_active,
)
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
from auth._secrets import SecretBox, load_secret_key, secret_key_path
from auth._tokens import IssuedToken, issue_access_token, looks_like_jwt, verify_access_token

__all__ = [
    "ALLOWED_ALGORITHMS",
    "API_KEY_PREFIX",
    "AUTH_METHODS",
    "CHECKPOINT_TYPE",
    "CLIENT_SCOPES",
    "DEFAULT_SCOPES",
    "JWKS_PATH",
    "METADATA_PATH",
    "TOKEN_PATH",
    "ApiKeyInfo",
    "Authority",
    "ClientInfo",
    "CreatedApiKey",
    "CreatedClient",
    "IssuedToken",
    "SecretBox",
    "authority",
    "check_jwks",
    "create_api_key",
    "create_audit_checkpoint",
    "create_client",
    "get_client",
    "issue_access_token",
    "jwks",
    "list_api_keys",
    "list_clients",
    "load_secret_key",
    "looks_like_api_key",
    "looks_like_jwt",
    "read_audit_checkpoint",
    "revoke_api_key",
    "rotate_api_key",
    "rotate_client_secret",
    "rotate_signing_keys",
    "secret_key_path",
    "server_metadata",
    "set_client_active",
    "token_endpoint",
    "token_endpoint_url",
    "verify_access_token",
    "verify_api_key",
    "verify_audit_checkpoint",
]
