"""JWT access tokens per RFC 9068, signed with the key ring's current key.

Claims: ``iss``, ``aud``, ``exp``, ``iat``, ``jti``, ``sub``, ``client_id``, ``scope`` and
``agency``; tokens for admin users also carry ``kind: "admin"``, ``role`` and ``sid``, the
server-side session they belong to (auth/_sessions.py): ending it ends them. Header
``typ: at+jwt`` and the signing key's ``kid``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from joserfc import jws, jwt
from joserfc.errors import JoseError

from auth._authority import Authority, authority
from auth._keys import ALLOWED_ALGORITHMS
from auth._sessions import live_session
from hub import Hub, Principal, Unauthenticated

log = structlog.get_logger("rightshub.auth")

ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")
TOKEN_KINDS = ("client", "admin")
CLOCK_LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str
    jti: str
    token_type: str = "Bearer"

    def as_response(self) -> dict[str, Any]:
        """The RFC 6749 §5.1 token response body."""
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


def _scope_text(scopes: Iterable[str]) -> str:
    return " ".join(sorted(set(scopes)))


def sign_access_token(
    auth: Authority,
    *,
    subject: str,
    agency: str,
    scopes: Iterable[str],
    kind: str = "client",
    role: str | None = None,
    client_id: str | None = None,
    lifetime: int | None = None,
    session_id: str | None = None,
) -> IssuedToken:
    """Synchronous signing with the already loaded key (see :func:`issue_access_token`)."""
    if kind not in TOKEN_KINDS:
        raise ValueError(f"token kind must be one of {TOKEN_KINDS}")
    settings = auth.settings
    kid, algorithm, key = auth.keys.signing_key()
    ttl = int(lifetime or settings.access_token_ttl_seconds)
    now = int(time.time())
    scope = _scope_text(scopes)
    jti = secrets.token_urlsafe(16)
    claims: dict[str, Any] = {
        "iss": settings.issuer_url,
        "aud": settings.token_audience,
        "sub": subject,
        "client_id": client_id or subject,
        "agency": agency,
        "scope": scope,
        "iat": now,
        "exp": now + ttl,
        "jti": jti,
    }
    if kind != "client":
        claims["kind"] = kind
    if role is not None:
        claims["role"] = role
    if session_id is not None:
        claims["sid"] = session_id
    header = {"alg": algorithm, "typ": "at+jwt", "kid": kid}
    token = jwt.encode(header, claims, key, algorithms=[algorithm])
    return IssuedToken(access_token=token, expires_in=ttl, scope=scope, jti=jti)


async def issue_access_token(
    hub: Hub,
    *,
    subject: str,
    agency: str,
    scopes: Iterable[str],
    kind: str = "client",
    role: str | None = None,
    client_id: str | None = None,
    lifetime: int | None = None,
    session_id: str | None = None,
) -> IssuedToken:
    """Sign an access token for a client (``kind="client"``, ``subject`` = client id) or an
    admin user (``kind="admin"``, ``subject`` = username, ``role``, ``session_id`` of the
    login's server-side session: without a live one an admin token is refused)."""
    auth = authority(hub)
    await auth.keys.refresh()
    return sign_access_token(
        auth, subject=subject, agency=agency, scopes=scopes, kind=kind, role=role,
        client_id=client_id, lifetime=lifetime, session_id=session_id,
    )


def _reject(reason: str) -> Unauthenticated:
    # The reason is logged (never the token), the caller gets the same answer for all.
    log.info("access_token_rejected", reason=reason)
    return Unauthenticated(
        "Token không hợp lệ hoặc đã hết hạn.", "The token is invalid or expired."
    )


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


async def verify_access_token(hub: Hub, token: str) -> Principal:
    """The principal of a valid access token; :class:`hub.Unauthenticated` otherwise.

    Refused: an algorithm outside ES256/RS256 (``none`` included), an unknown or retired-out
    ``kid``, a bad signature, ``typ`` other than ``at+jwt``, wrong ``iss`` or ``aud``,
    expired, missing claims, tokens of inactive clients, and admin tokens whose session
    (``sid``) has ended or whose account is inactive or has another role now.
    """
    auth = authority(hub)
    cached = auth.verified_tokens.get(token)
    if cached is not None and time.time() < cached[2]["exp"] + CLOCK_LEEWAY_SECONDS:
        kid, algorithm, claims = cached
        # The signing key is asked again: a key retired since stops its tokens at once.
        public = await auth.keys.public_key(kid)
        if public is None or public.algorithm != algorithm:
            raise _reject("key")
    else:
        claims = await _verified_claims(auth, token)
    kind = claims.get("kind", "client")
    subject, agency, scope = claims["sub"], claims.get("agency"), claims.get("scope", "")
    agency = agency if agency is not None else ""
    if not all(isinstance(v, str) for v in (subject, agency, scope, claims["client_id"])):
        raise _reject("claim_types")
    role = claims.get("role")
    if kind == "client":
        if not agency:
            raise _reject("agency")
        status = await auth.client_status(subject)
        if status is None or not status.active or status.agency != agency:
            raise _reject("client_inactive")
        # Scopes taken from the client since the token was issued are not honoured.
        scopes = frozenset(scope.split()) & status.scopes
    elif kind == "admin":
        # One indexed lookup, uncached: logout, a password reset, a role change or
        # deactivation end the session row, and with it this token, at once.
        live = await live_session(hub, claims.get("sid", ""))
        if live is None or live.admin.username != subject or live.admin.role != role:
            raise _reject("admin_session")
        scopes = frozenset(scope.split())
    else:
        raise _reject("kind")
    return Principal(
        client_id=subject, agency=str(agency), scopes=scopes, kind=kind,
        role=role if isinstance(role, str) else None,
    )


# Verified tokens kept per hub. A client sends the same token for its whole life (15 min):
# the ES256 verification and the claims registry cost ~0.1 ms a request (issue 20), and
# everything that can end a token before its expiry (the client deactivated or its scopes
# cut, an admin session ended, the key retired) is checked on every request all the same.
VERIFIED_TOKENS_MAX = 4096


async def _verified_claims(auth: Authority, token: str) -> dict[str, Any]:
    """The claims of ``token`` after every check of its header, signature and registered
    claims; remembered for the next request with the same token."""
    settings = auth.settings
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise _reject("malformed") from None
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise _reject("algorithm")
    if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
        raise _reject("typ")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise _reject("kid")
    public = await auth.keys.public_key(kid)
    if public is None or public.algorithm != algorithm:
        raise _reject("key")
    try:
        decoded = jwt.decode(token, public.key, algorithms=[algorithm])
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": settings.issuer_url},
            aud={"essential": True, "value": settings.token_audience},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
            client_id={"essential": True},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError, TypeError):
        raise _reject("signature_or_claims") from None
    claims = decoded.claims
    if isinstance(claims.get("exp"), int | float):
        if len(auth.verified_tokens) >= VERIFIED_TOKENS_MAX:
            auth.verified_tokens.clear()
        auth.verified_tokens[token] = (kid, str(algorithm), claims)
    return claims
