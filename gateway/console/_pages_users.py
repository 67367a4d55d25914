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
from gateway._admin_wire import PasswordReset
from gateway.console._forms import ident, read_form, validated
from gateway.console._pages_auth import User
from gateway.console._pages_clients import agency_choices
from gateway.console._render import ConsoleRoute, render
from gateway.console._session import ConsoleUser
from gateway.deps import HubDep
from hub import Hub, InvalidInput, NotFound
from hub.tables import AdminUserCreate, AdminUserUpdate

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
    # The admin API's body checks the fields (hub.tables.AdminUserCreate).
    values: dict[str, object] = {"role": "agency_admin",
                                 **form.given("username", "role", "agency", "display_name")}
    if values["role"] == "hub_admin":
        values.pop("agency", None)
    password = form.data.get("password")
    values["password"] = password if isinstance(password, str) else None
    body = validated(AdminUserCreate, values)
    policy.grantable_admin_role(user.principal, body.role, body.agency)
    async with admin_action(hub, user.principal, "admin.users.create",
                            target=f"admin_user/{body.username}", agency=body.agency,
                            details={"role": body.role}) as tx:
        await create_admin(hub, username=body.username, role=body.role, agency=body.agency,
                           password=body.password.get_secret_value() if body.password else None,
                           display_name=body.display_name, session=tx)
    return RedirectResponse("/console/users?done=created", status_code=303)


@router.post("/users/{username}/active")
async def user_active(username: str, request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    username = ident(username)
    agency = await _user_agency(hub, user, username)
    if username == user.admin.username:
        raise InvalidInput("Không thể tự khoá tài khoản của mình.",
                           "You cannot deactivate your own account.")
    body = validated(AdminUserUpdate, {"active": form.flag("active")})
    async with admin_action(hub, user.principal, "admin.users.update",
                            target=f"admin_user/{username}", agency=agency,
                            details={"fields": ["active"]}) as tx:
        await update_admin(hub, username, session=tx, **body.model_dump(exclude_unset=True))
    return RedirectResponse("/console/users?done=saved", status_code=303)


@router.post("/users/{username}/password")
async def user_password(username: str, request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    username = ident(username)
    agency = await _user_agency(hub, user, username)
    password = form.data.get("password")
    # The admin API's body (its length rule) checks the new password.
    body = validated(PasswordReset, {"password": password if isinstance(password, str) else ""},
                     {"password": "users.new_password"})
    async with admin_action(hub, user.principal, "admin.users.reset_password",
                            target=f"admin_user/{username}", agency=agency) as tx:
        await reset_password(hub, username, body.password.get_secret_value(), session=tx)
    return RedirectResponse("/console/users?done=saved", status_code=303)
