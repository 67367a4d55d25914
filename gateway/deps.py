"""FastAPI dependencies: the hub, a database session and the caller.

Every ``/v1`` route takes its principal from :func:`principal_with`; nothing else in the code
decides who is calling. Until OAuth2 and API keys land (security issue), callers are the
development principals of the settings, matched by bearer token in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from hub import Forbidden, Hub, Principal, Unauthenticated


def get_hub(request: Request) -> Hub:
    hub = getattr(request.app.state, "hub", None)
    if hub is None:
        raise RuntimeError("the hub is not started: create the app with gateway.create_app")
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


async def get_session(hub: HubDep) -> AsyncIterator[AsyncSession]:
    async with hub.db.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate(request: Request, hub: Hub) -> Principal:
    token = _bearer(request)
    if token is None:
        raise Unauthenticated(
            "Thiếu thông tin xác thực: gửi header Authorization: Bearer <token>.",
            "Missing credentials: send an Authorization: Bearer <token> header.",
        )
    found: Principal | None = None
    for dev in hub.settings.dev_principals:
        # Compare every configured token so timing does not reveal which one matched.
        if hmac.compare_digest(dev.token.encode(), token.encode()):
            found = Principal(dev.client_id, dev.agency, frozenset(dev.scopes))
    if found is None:
        raise Unauthenticated(
            "Token không hợp lệ hoặc đã hết hạn.", "The token is invalid or expired."
        )
    request.scope.setdefault("state", {})["client_id"] = found.client_id
    return found


def principal_with(scope: str) -> Callable[[Request, Hub], Awaitable[Principal]]:
    """A dependency that authenticates the caller and requires ``scope``."""

    async def dependency(request: Request, hub: HubDep) -> Principal:
        principal = authenticate(request, hub)
        if not principal.has_scope(scope):
            raise Forbidden(
                f"Thiếu quyền (scope) {scope} cho thao tác này.",
                f"The {scope} scope is required for this operation.",
                required_scope=scope,
            )
        return principal

    return dependency


Reader = Annotated[Principal, Depends(principal_with("records:read"))]
Writer = Annotated[Principal, Depends(principal_with("records:write"))]
ChangeReader = Annotated[Principal, Depends(principal_with("changes:read"))]
