"""FastAPI dependencies: the hub, a database session and the caller.

Every ``/v1`` route takes its principal from :func:`principal_with`; nothing else in the code
decides who is calling (:func:`authenticate`): an OAuth2 access token (JWT, RFC 9068), an API
key (``rhk_...`` as bearer token or ``X-API-Key``), or outside production a development
principal of the settings, matched by bearer token in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

import auth
from auth import require_scope
from hub import Hub, Principal, Unauthenticated


async def get_hub(request: Request) -> Hub:
    # async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a thread
    # hop per request (py-spy on bench read).
    hub = getattr(request.app.state, "hub", None)
    if hub is None:
        raise RuntimeError("the hub is not started: create the app with gateway.create_app")
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


async def get_session(hub: HubDep) -> AsyncIterator[AsyncSession]:
    async with hub.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def client_address(request: Request) -> str:
    """The caller's address as the hub sees it: the socket peer, or the client a trusted
    reverse proxy names (``RIGHTSHUB_TRUSTED_PROXIES``, see gateway.app)."""
    return request.client.host if request.client else "unknown"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authenticate(request: Request, hub: Hub) -> Principal:
    """The ONE place that decides who calls; 401 (``WWW-Authenticate: Bearer``) otherwise."""
    token = _bearer(request)
    api_key = request.headers.get("x-api-key", "").strip() or None
    if token is None and api_key is None:
        raise Unauthenticated(
            "Thiếu thông tin xác thực: gửi header Authorization: Bearer <token>.",
            "Missing credentials: send an Authorization: Bearer <token> header.",
        )
    if token is not None and api_key is not None:
        raise Unauthenticated(
            "Chỉ gửi một loại thông tin xác thực.", "Send one credential, not two."
        )
    found: Principal | None = None
    credential = token or api_key or ""
    if api_key is not None or auth.looks_like_api_key(credential):
        found = await auth.verify_api_key(hub, credential)
    elif auth.looks_like_jwt(credential):
        found = await auth.verify_access_token(hub, credential)
    elif hub.settings.environment != "production":
        found = _dev_principal(hub, credential)
    if found is None:
        raise Unauthenticated(
            "Token không hợp lệ hoặc đã hết hạn.", "The token is invalid or expired."
        )
    request.scope.setdefault("state", {})["client_id"] = found.client_id
    request.scope["state"]["principal"] = found
    return found


def _dev_principal(hub: Hub, token: str) -> Principal | None:
    found: Principal | None = None
    for dev in hub.settings.dev_principals:
        # Compare every configured token so timing does not reveal which one matched.
        if hmac.compare_digest(dev.token.encode(), token.encode()):
            found = Principal(dev.client_id, dev.agency, frozenset(dev.scopes), kind="dev")
    return found


def principal_with(scope: str) -> Callable[[Request, Hub], Awaitable[Principal]]:
    """A dependency that authenticates the caller and requires ``scope``."""

    async def dependency(request: Request, hub: HubDep) -> Principal:
        principal = await authenticate(request, hub)
        # Known from here on: a denied write is audited under this principal (_problems.py).
        request.scope.setdefault("state", {})["principal"] = principal
        limiter = getattr(request.app.state, "rate_limiter", None)
        if limiter is not None:
            await limiter.enforce_client(principal.client_id)  # 429 with Retry-After
        require_scope(principal, scope)  # the one policy (auth._policy)
        return principal

    return dependency


Reader = Annotated[Principal, Depends(principal_with("records:read"))]
Writer = Annotated[Principal, Depends(principal_with("records:write"))]
ChangeReader = Annotated[Principal, Depends(principal_with("changes:read"))]
# Every /v1/admin route; tenancy and admin:hub are checked by auth._policy in the handlers.
Admin = Annotated[Principal, Depends(principal_with("admin"))]
HubAdmin = Annotated[Principal, Depends(principal_with("admin:hub"))]
