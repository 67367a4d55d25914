"""Admin accounts: list, create, activate or deactivate, reset a password. The same policy
(an agency admin manages its own agency's admins only; only hub admins create hub admins),
services and audit entries as ``/v1/admin/users``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from auth import (
    admin_action,
    create_admin,
    get_admin,
    list_admins,
    policy,
    reset_password,
    update_admin,
)
from gateway.console._forms import ident, read_form
from gateway.console._pages_auth import User
from gateway.console._pages_clients import agency_choices
from gateway.console._render import ConsoleRoute, render
from gateway.console._session import ConsoleUser
from gateway.deps import HubDep
from hub import Hub, InvalidInput, NotFound

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/users")
async def users_page(request: Request, user: User, hub: HubDep) -> Response:
    agency = policy.tenant_filter(user.principal, None)
    return render(request, "users.html", {
        "admins": await list_admins(hub, agency=agency),
        "agencies": await agency_choices(hub, user),
    })


async def _user_agency(hub: Hub, user: ConsoleUser, username: str) -> str | None:
    info = await get_admin(hub, username)
    if info is None or (not user.is_hub_admin and info.agency != user.agency):
        raise NotFound(f"Không có tài khoản {username}.", f"Unknown admin {username}.")
    return info.agency


@router.post("/users")
async def user_create(request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    role = form.text("role", max_length=20) or "agency_admin"
    agency = form.code("agency", required=False) or None
    if role == "hub_admin":
        agency = None
    policy.grantable_admin_role(user.principal, role, agency)
    username = form.text("username", max_length=200, required=True, label="tên đăng nhập")
    password = form.data.get("password")
    if not isinstance(password, str) or len(password) > 1024:
        raise InvalidInput("Mật khẩu không hợp lệ.", "Invalid password.")
    async with admin_action(hub, user.principal, "admin.users.create",
                            target=f"admin_user/{username}", agency=agency,
                            details={"role": role}) as tx:
        await create_admin(hub, username=username, role=role, agency=agency, password=password,
                           display_name=form.text("display_name") or None, session=tx)
    return RedirectResponse("/console/users?done=created", status_code=303)


@router.post("/users/{username}/active")
async def user_active(username: str, request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    username = ident(username)
    agency = await _user_agency(hub, user, username)
    if username == user.admin.username:
        raise InvalidInput("Không thể tự khoá tài khoản của mình.",
                           "You cannot deactivate your own account.")
    active = form.flag("active")
    async with admin_action(hub, user.principal, "admin.users.update",
                            target=f"admin_user/{username}", agency=agency,
                            details={"fields": ["active"]}) as tx:
        await update_admin(hub, username, session=tx, active=active)
    return RedirectResponse("/console/users?done=saved", status_code=303)


@router.post("/users/{username}/password")
async def user_password(username: str, request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    username = ident(username)
    agency = await _user_agency(hub, user, username)
    password = form.data.get("password")
    if not isinstance(password, str) or len(password) > 1024:
        raise InvalidInput("Mật khẩu không hợp lệ.", "Invalid password.")
    async with admin_action(hub, user.principal, "admin.users.reset_password",
                            target=f"admin_user/{username}", agency=agency) as tx:
        await reset_password(hub, username, password, session=tx)
    return RedirectResponse("/console/users?done=saved", status_code=303)
