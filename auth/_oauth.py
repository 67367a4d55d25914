"""The OAuth2 authorization server: Authlib's framework-agnostic ``AuthorizationServer``
adapted to Starlette, with the client credentials grant only.

Client authentication: ``client_secret_basic``, ``client_secret_post`` and
``private_key_jwt`` (RFC 7523; each assertion's ``jti`` is accepted once, remembered in the
``used_assertions`` table until the assertion expires). Authlib's server is synchronous, so
everything it will ask for (the client row, whether the assertion's ``jti`` was used, the
signing key) is loaded asynchronously first; the ``jti`` is recorded after Authlib accepted
the request and before the token leaves.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import time
from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson
import sqlalchemy as sa
import structlog
from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Payload,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response

from auth._authority import Authority, authority
from auth._clients import AUTH_METHODS, CLIENT_SCOPES
from auth._keys import ALLOWED_ALGORITHMS
from auth._rehash import rehash
from auth._secrets import SecretBox
from auth._tokens import sign_access_token
from hub import Hub, Settings
from hub.tables import Client, UsedAssertion

log = structlog.get_logger("rightshub.auth")
# Authlib logs issued tokens at debug level ("Issue token %r"): never let that through.
logging.getLogger("authlib").setLevel(logging.INFO)

TOKEN_PATH = "/oauth/token"
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
ASSERTION_TYPE = JWTBearerClientAssertion.CLIENT_ASSERTION_TYPE
ASSERTION_LEEWAY_SECONDS = 30
_PURGE_EVERY_SECONDS = 300
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def token_endpoint_url(settings: Settings) -> str:
    return settings.base_url + TOKEN_PATH


def server_metadata(settings: Settings) -> dict[str, Any]:
    """RFC 8414 authorization server metadata."""
    return {
        "issuer": settings.issuer_url,
        "token_endpoint": token_endpoint_url(settings),
        "jwks_uri": settings.base_url + JWKS_PATH,
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ALLOWED_ALGORITHMS),
        "scopes_supported": list(CLIENT_SCOPES),
        "service_documentation": settings.base_url + "/docs",
    }


class _Client(ClientMixin):  # type: ignore[misc]
    """A snapshot of a ``clients`` row, as Authlib wants it."""

    def __init__(self, row: Client, box: SecretBox) -> None:
        self.client_id = row.client_id
        self.agency = row.agency
        self.scopes = frozenset(row.scopes or ())
        self.auth_method = row.auth_method
        self.active = row.active
        self.jwks = row.jwks
        self._secret_hash = row.secret_hash
        self._hash_key_id = row.hash_key_id
        self._box = box
        self.rehashed: tuple[str, str] | None = None  # (old, new) once verified under old key

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return " ".join(sorted(self.scopes))
        return " ".join(sorted(set(scope.split()) & self.scopes))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        made_by = self._box.match(client_secret, self._secret_hash) if self.active else None
        if made_by is None:
            return False
        if self._secret_hash and (made_by != self._box.key_id or made_by != self._hash_key_id):
            self.rehashed = (self._secret_hash, self._box.hash(client_secret))
        return True

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # Authlib asks only after the credentials of ``method`` were verified: a mismatch here
        # is a client that proved itself with a method it is not registered for.
        if self.active and endpoint == "token" and method != self.auth_method and method != "none":
            _CONTEXT.get().wrong_method = (method, self.auth_method)
        return self.active and endpoint == "token" and method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return self.active and grant_type == "client_credentials"


@dataclass
class _Context:
    clients: dict[str, _Client]
    used_jtis: set[tuple[str, str]]
    accepted_jti: tuple[str, str, datetime] | None = None
    granted: dict[str, Any] = field(default_factory=dict)
    wrong_method: tuple[str, str] | None = None  # (used, registered)


_CONTEXT: ContextVar[_Context] = ContextVar("rightshub_oauth_context")


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, datalist: dict[str, list[str]]) -> None:
        self._datalist = datalist
        self._data = {k: v[0] for k, v in datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: Request, datalist: dict[str, list[str]]) -> None:
        # TLS is terminated in front of the hub (and loopback is plain HTTP in development):
        # the transport check of Authlib is not where the hub enforces it.
        parts = urlsplit(str(request.url))
        super().__init__(request.method, f"https://{parts.netloc}{parts.path}",
                         headers=request.headers)
        self.payload = _Payload(datalist)

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data


class _ClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def validate_requested_scope(self) -> None:
        scope = self.request.payload.scope
        if scope is not None and not set(scope.split()) <= self.request.client.scopes:
            raise InvalidScopeError()


class _PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, settings: Settings) -> None:
        super().__init__(validate_jti=True, leeway=ASSERTION_LEEWAY_SECONDS)
        self._audiences = [token_endpoint_url(settings), settings.issuer_url]
        self._max_lifetime = settings.client_assertion_max_lifetime_seconds

    def get_audiences(self) -> list[str]:
        return self._audiences

    def verify_claims(self, claims: Any) -> None:
        """Authlib's checks (iss = sub, aud, exp, jti once), then the assertion's lifetime:
        RFC 7523 §3 leaves its bound to the server, and a ``jti`` is remembered only until
        ``exp``, so a long-lived assertion would be a long-lived password."""
        self._check_lifetime(claims)
        super().verify_claims(claims)

    def _check_lifetime(self, claims: Any) -> None:
        def number(name: str) -> float | None:
            value = claims.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                return None
            return float(value)

        exp, iat, now = number("exp"), number("iat"), time.time()
        if exp is None:
            return  # Authlib refuses a missing or non-numeric exp with its own message
        if "iat" in claims and iat is None:
            raise InvalidClientError(description="The assertion's iat is not a number.")
        if iat is not None and iat > now + ASSERTION_LEEWAY_SECONDS:
            raise InvalidClientError(description="The assertion's iat is in the future.")
        lifetime = exp - (iat if iat is not None else now)
        if lifetime > self._max_lifetime:
            raise InvalidClientError(description=(
                f"The assertion is valid for {int(lifetime)} seconds; at most "
                f"{self._max_lifetime} are accepted (exp - iat)."))

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        context = _CONTEXT.get()
        client_id = str(claims["sub"])
        if not isinstance(jti, str) or not 0 < len(jti) <= 200:
            return False
        if (client_id, jti) in context.used_jtis:
            return False
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC) + timedelta(
            seconds=ASSERTION_LEEWAY_SECONDS
        )
        context.accepted_jti = (client_id, jti, expires)
        return True

    def resolve_client_public_key(self, client: _Client) -> KeySet:
        if not client.jwks:
            raise InvalidClientError(description="The client has no registered JWKS.")
        return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, auth: Authority) -> None:
        super().__init__(scopes_supported=list(CLIENT_SCOPES))
        self._auth = auth
        self.register_grant(_ClientCredentials)
        self.register_client_auth_method("private_key_jwt", _PrivateKeyJWT(auth.settings))
        self.register_token_generator("default", self._generate)

    def query_client(self, client_id: str) -> _Client | None:
        return _CONTEXT.get().clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        return None  # JWTs are self-contained: nothing to store

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def _generate(self, grant_type: str, client: _Client, user: Any = None,
                  scope: str | None = None, expires_in: int | None = None,
                  include_refresh_token: bool = False) -> dict[str, Any]:
        scopes = client.get_allowed_scope(scope).split()
        issued = sign_access_token(
            self._auth, subject=client.client_id, agency=client.agency, scopes=scopes,
        )
        _CONTEXT.get().granted = {"client_id": client.client_id, "jti": issued.jti}
        return issued.as_response()

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        merged = {**dict(headers or []), **_NO_STORE}
        merged.pop("Content-Type", None)
        content = body if isinstance(body, str | bytes) else orjson.dumps(body)
        return Response(content, status_code=status, headers=merged,
                        media_type="application/json")


def _server(auth: Authority) -> _Server:
    found = auth.extras.get("oauth_server")
    if found is None:
        found = auth.extras["oauth_server"] = _Server(auth)
    return found


def _error(server: _Server, error: OAuth2Error) -> Response:
    return server.handle_response(*error())


def _client_ids(request: Request, data: dict[str, list[str]]) -> tuple[set[str], str | None]:
    """Every client id the request names (unverified), and the assertion's ``jti``."""
    ids: set[str] = set()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and value:
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            ids.add(base64.b64decode(value.strip(), validate=True).decode().split(":", 1)[0])
    ids.update(data.get("client_id", [])[:1])
    jti = None
    assertion = data.get("client_assertion", [""])[0]
    if assertion:
        try:
            claims = orjson.loads(jws.extract_compact(assertion.encode()).payload)
        except (JoseError, ValueError, TypeError, orjson.JSONDecodeError):
            claims = None
        if isinstance(claims, dict):
            if isinstance(claims.get("sub"), str):
                ids.add(claims["sub"])
            if isinstance(claims.get("jti"), str):
                jti = claims["jti"]
    return {unquote(i) for i in ids if i and len(i) <= 100}, jti


async def token_endpoint(hub: Hub, request: Request) -> Response:
    """``POST /oauth/token``: errors per RFC 6749 §5.2 as JSON."""
    auth = authority(hub)
    server = _server(auth)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _error(server, InvalidRequestError(
            "Send the parameters as application/x-www-form-urlencoded."))
    body = await request.body()
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return _error(server, InvalidRequestError("The body is not UTF-8."))
    data: dict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        data[key].append(value)
    repeated = sorted(k for k, v in data.items() if len(v) > 1)
    if repeated:  # RFC 6749 §3.2: parameters MUST NOT be included more than once
        return _error(server, InvalidRequestError(f"Repeated parameter: {repeated[0]}."))

    ids, jti = _client_ids(request, data)
    async with hub.db.session() as session:
        rows = (await session.scalars(
            sa.select(Client).where(col(Client.client_id).in_(ids)))).all()
        used: set[tuple[str, str]] = set()
        if jti is not None and ids:
            used = {
                (row.client_id, row.jti) for row in (await session.scalars(
                    sa.select(UsedAssertion).where(
                        UsedAssertion.jti == jti[:200], UsedAssertion.client_id.in_(ids),
                    )
                )).all()
            }
    await auth.keys.refresh()
    context = _Context({row.client_id: _Client(row, auth.box) for row in rows}, used)
    reset = _CONTEXT.set(context)
    try:
        response: Response = server.create_token_response(_Request(request, dict(data)))
    finally:
        _CONTEXT.reset(reset)

    if response.status_code in (400, 401):
        response = _explained(server, response, context)
    if response.status_code == 200 and context.accepted_jti is not None:
        client_id, accepted, expires = context.accepted_jti
        try:
            async with hub.db.transaction() as session:
                await _purge_expired(auth, session)
                session.add(UsedAssertion(jti=accepted, client_id=client_id, expires_at=expires))
        except IntegrityError:  # the same assertion raced us through another request
            log.info("client_assertion_replayed", client_id=client_id)
            return _error(server, InvalidClientError(description="JWT ID is used before."))
    if response.status_code == 200:
        for client in context.clients.values():
            if client.rehashed is not None:  # verified under a previous secret key
                await rehash(hub, Client, Client.client_id == client.client_id,
                             Client.secret_hash, *client.rehashed)
        log.info("access_token_issued", **context.granted)
    else:
        log.info("token_request_refused", status=response.status_code,
                 client_ids=sorted(ids)[:3])
    return response


def _explained(server: _Server, response: Response, context: _Context) -> Response:
    """``invalid_client`` (RFC 6749 §5.2) says which failure it was: credentials that did not
    verify, or verified credentials of a method the client is not registered for (told only
    to a caller that proved it holds them). Both languages: ``error_description`` (ASCII, as
    the RFC requires) and ``error_description_vi``."""
    try:
        body = orjson.loads(bytes(response.body))
    except orjson.JSONDecodeError:
        return response
    if not isinstance(body, dict) or body.get("error") != "invalid_client":
        return response
    if context.wrong_method is not None:
        used, registered = context.wrong_method
        body["error_description"] = (
            f"The client is registered for {registered} authentication, not {used}.")
        body["error_description_vi"] = (
            f"Client này đăng ký xác thực bằng {registered}, không phải {used}.")
    else:
        described = str(body.get("error_description") or "")
        # An unknown client and a wrong secret read the same: no probing for client ids.
        if not described or described.startswith(("The client cannot authenticate",
                                                   "The client does not exist")):
            body["error_description"] = (
                "Client authentication failed: unknown client or wrong credentials.")
        body["error_description_vi"] = _VI_DESCRIPTIONS.get(
            str(body["error_description"]),
            "Xác thực client không thành công: client không tồn tại hoặc thông tin xác thực "
            "sai.")
    return server.handle_response(response.status_code, body, [
        (k, v) for k, v in response.headers.items()
        if k.lower() not in ("content-length", "content-type", "cache-control", "pragma")])


_VI_DESCRIPTIONS = {
    "JWT ID is used before.": "Assertion (jti) này đã được dùng.",
    "The assertion's iat is in the future.": "Thời điểm iat của assertion ở tương lai.",
}


async def _purge_expired(auth: Authority, session: Any) -> None:
    now = datetime.now(UTC)
    last = auth.extras.get("assertions_purged_at")
    if last is not None and now - last < timedelta(seconds=_PURGE_EVERY_SECONDS):
        return
    auth.extras["assertions_purged_at"] = now
    await session.execute(sa.delete(UsedAssertion).where(UsedAssertion.expires_at < now))


async def jwks(hub: Hub) -> dict[str, Any]:
    """The public keys that verify access tokens (current and recently retired)."""
    return await authority(hub).keys.jwks()
