"""The console's session: a signed, HttpOnly cookie holding only a session secret, and a
CSRF token derived from it.

The secret names a server-side session (auth/_sessions.py) once the admin has signed in;
before that it names none and only keys the sign-in form's CSRF token. Every request looks
the session and its account up again (one indexed lookup), so logout, a password reset, a
role change or deactivation sign the admin out at once, in every process; sessions also end
when idle and at their absolute expiry. The cookie is signed with a key derived from the
hub's secret key (itsdangerous) and is ``Secure`` in production whatever the request's
scheme (TLS ends in front of the hub there). Every POST form carries the CSRF token, an HMAC
of the secret, compared in constant time (the SameSite=Lax cookie is a second line of
defence); it changes at sign-in and sign-out, with the secret.

During a secret-key rotation (``secret_key_previous``) cookies and CSRF tokens made under the
previous key are still accepted, and new ones are made under the current key, so admins stay
signed in across the change.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from auth import (
    HUB_ADMIN,
    AdminInfo,
    admin_scopes,
    end_session,
    live_session,
    load_secret_key,
    open_session,
    session_id,
)
from hub import Hub, Principal, Settings, previous_secret_keys

COOKIE = "rightshub_console_session"
LANG_COOKIE = "rightshub_console_lang"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No signed-in admin: the page redirects to the sign-in form."""


class CsrfFailed(Exception):
    """A POST without the session's CSRF token."""


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """The cookie's content: the session secret (signed in or not) and its CSRF token."""

    secret: str
    csrf: str
    # The CSRF tokens the previous key made for this secret (a form loaded before a rotation).
    csrf_previous: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"s": self.secret}


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """The signed-in admin, with the principal the auth services and the audit log see."""

    admin: AdminInfo
    principal: Principal

    @property
    def is_hub_admin(self) -> bool:
        return self.admin.role == HUB_ADMIN

    @property
    def agency(self) -> str | None:
        return self.admin.agency


def _keys(settings: Settings, purpose: bytes) -> list[bytes]:
    """The current key for ``purpose``, then those of the previous secret key (if rotating)."""
    return [hmac.new(key, purpose, hashlib.sha256).digest()
            for key in (load_secret_key(settings), *previous_secret_keys(settings))]


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key of the list and accepts any of them.
    keys = [key.hex() for key in reversed(_keys(settings, b"rightshub console cookie"))]
    return URLSafeTimedSerializer(keys, salt="rightshub.console.session")


def _secure(request: Request, settings: Settings) -> bool:
    return (settings.environment == "production" or request.url.scheme == "https"
            or settings.base_url.startswith("https://"))


def _session_of(settings: Settings, secret: str) -> ConsoleSession:
    csrf, *previous = (hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()
                       for key in _keys(settings, b"rightshub console csrf"))
    return ConsoleSession(secret, csrf, tuple(previous))


def new_session(settings: Settings) -> ConsoleSession:
    """An anonymous session (no server-side row): it keys the sign-in form's CSRF token."""
    return _session_of(settings, secrets.token_urlsafe(32))


def read_session(request: Request, settings: Settings) -> ConsoleSession | None:
    cached = request.scope.get("rightshub.console_session")
    if isinstance(cached, ConsoleSession):
        return cached
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4096:
        return None
    try:
        data = _serializer(settings).loads(raw, max_age=settings.admin_session_max_seconds)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("s"), str) \
            or not 0 < len(data["s"]) <= 100:
        return None
    found = _session_of(settings, data["s"])
    request.scope["rightshub.console_session"] = found
    return found


def ensure_session(request: Request, settings: Settings) -> tuple[ConsoleSession, bool]:
    """The request's session, or a new anonymous one (True: the cookie must be set)."""
    found = read_session(request, settings)
    if found is not None:
        return found, False
    made = new_session(settings)
    request.scope["rightshub.console_session"] = made
    return made, True


def set_session_cookie(
    response: Response, request: Request, settings: Settings, session: ConsoleSession
) -> None:
    response.set_cookie(
        COOKIE, _serializer(settings).dumps(session.as_dict()),
        max_age=settings.admin_session_max_seconds, path="/console", httponly=True,
        samesite="lax", secure=_secure(request, settings),
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="lax",
                           secure=_secure(request, settings))


async def signed_in(hub: Hub, username: str) -> ConsoleSession:
    """A fresh server-side session for ``username`` with a new secret, so a new CSRF token
    (no fixation across sign-in)."""
    opened = await open_session(hub, username, channel="console")
    return _session_of(hub.settings, opened.secret)


async def sign_out(request: Request, hub: Hub) -> None:
    """End the request's server-side session: its cookie opens nothing any more."""
    session = read_session(request, hub.settings)
    if session is not None:
        await end_session(hub, session_id(session.secret))


def check_csrf(session: ConsoleSession | None, submitted: object) -> None:
    if (
        session is None
        or not isinstance(submitted, str)
        or not any(hmac.compare_digest(token.encode(), submitted.encode())
                   for token in (session.csrf, *session.csrf_previous))
    ):
        raise CsrfFailed


async def current_user(request: Request, hub: Hub) -> ConsoleUser:
    session = read_session(request, hub.settings)
    if session is None:
        raise LoginRequired
    live = await live_session(hub, session_id(session.secret))
    if live is None or live.channel != "console":
        raise LoginRequired
    admin = AdminInfo.of(live.admin)
    principal = Principal(
        client_id=admin.username, agency=admin.agency or "", scopes=admin_scopes(admin.role),
        kind="admin", role=admin.role,
    )
    # The audit log and the access log name the admin, as for the admin API.
    request.scope.setdefault("state", {})["client_id"] = admin.username
    request.scope["state"]["principal"] = principal
    return ConsoleUser(admin, principal)


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in ("vi", "en") else "vi"


async def signed_in_redirect(request: Request, hub: Hub, username: str,
                             target: str = "/console/dashboard") -> Response:
    """The answer to a completed sign-in (password or SSO): a fresh session, then the page."""
    from starlette.responses import RedirectResponse

    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, hub.settings, await signed_in(hub, username))
    return response


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")
