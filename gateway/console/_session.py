"""The console's session: a signed, HttpOnly cookie holding the signed-in admin and a
session-bound CSRF token.

The cookie is signed with a key derived from the hub's secret key (itsdangerous, timestamped:
a session lasts :data:`SESSION_SECONDS` at most). It names the admin account; the account's
role, agency and active flag are read again on every request, so a deactivated or demoted
admin loses access at once. Every POST form carries the session's CSRF token in a hidden
field, compared in constant time (the SameSite=Lax cookie is a second line of defence); the
token changes at sign-in and sign-out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from auth._admins import AdminInfo, get_admin
from auth._policy import HUB_ADMIN, admin_scopes
from auth._secrets import load_secret_key
from hub import Hub, Principal, Settings

COOKIE = "rightshub_console_session"
LANG_COOKIE = "rightshub_console_lang"
SESSION_SECONDS = 8 * 3600
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """No signed-in admin: the page redirects to the sign-in form."""


class CsrfFailed(Exception):
    """A POST without the session's CSRF token."""


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    csrf: str
    username: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"c": self.csrf, "u": self.username}


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


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    key = hmac.new(load_secret_key(settings), b"rightshub console cookie",
                   hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(key, salt="rightshub.console.session")


def _secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.base_url.startswith("https://")


def new_session(username: str | None = None) -> ConsoleSession:
    return ConsoleSession(csrf=secrets.token_urlsafe(32), username=username)


def read_session(request: Request, settings: Settings) -> ConsoleSession | None:
    cached = request.scope.get("rightshub.console_session")
    if isinstance(cached, ConsoleSession):
        return cached
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4096:
        return None
    try:
        data = _serializer(settings).loads(raw, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        return None
    username = data.get("u")
    found = ConsoleSession(data["c"], username if isinstance(username, str) else None)
    request.scope["rightshub.console_session"] = found
    return found


def ensure_session(request: Request, settings: Settings) -> tuple[ConsoleSession, bool]:
    """The request's session, or a new anonymous one (True: the cookie must be set)."""
    found = read_session(request, settings)
    if found is not None:
        return found, False
    made = new_session()
    request.scope["rightshub.console_session"] = made
    return made, True


def set_session_cookie(
    response: Response, request: Request, settings: Settings, session: ConsoleSession
) -> None:
    response.set_cookie(
        COOKIE, _serializer(settings).dumps(session.as_dict()), max_age=SESSION_SECONDS,
        path="/console", httponly=True, samesite="lax", secure=_secure(request, settings),
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="lax",
                           secure=_secure(request, settings))


def signed_in(session: ConsoleSession, username: str) -> ConsoleSession:
    """A fresh session for ``username``: a new CSRF token (no fixation across sign-in)."""
    return replace(new_session(), username=username)


def check_csrf(session: ConsoleSession | None, submitted: object) -> None:
    if (
        session is None
        or not isinstance(submitted, str)
        or not hmac.compare_digest(session.csrf.encode(), submitted.encode())
    ):
        raise CsrfFailed


async def current_user(request: Request, hub: Hub) -> ConsoleUser:
    session = read_session(request, hub.settings)
    if session is None or session.username is None:
        raise LoginRequired
    admin = await get_admin(hub, session.username)
    if admin is None or not admin.active:
        raise LoginRequired
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


def signed_in_redirect(request: Request, settings: Settings, username: str,
                       target: str = "/console/dashboard") -> Response:
    """The answer to a completed sign-in (password or SSO): a fresh session, then the page."""
    from starlette.responses import RedirectResponse

    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, settings, signed_in(new_session(), username))
    return response


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")
