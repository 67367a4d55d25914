"""Clients and API keys: create (the secret shown once, with a copy button), rotate, revoke,
last use. The same policy checks, services and audit entries as ``/v1/admin``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from auth import (
    ApiKeyInfo,
    admin_action,
    authority,
    create_api_key,
    create_client,
    get_client,
    list_api_keys,
    list_clients,
    policy,
    revoke_api_key,
    rotate_api_key,
    rotate_client_secret,
    set_client_active,
)
from gateway.console._forms import Form, ident, read_form
from gateway.console._i18n import VIETNAM
from gateway.console._labels import refuse
from gateway.console._pages_auth import User
from gateway.console._render import ConsoleRoute, render
from gateway.console._session import ConsoleUser
from gateway.deps import HubDep
from gateway.routers.admin import _client_agency, _key_agency
from hub import Hub, InvalidInput

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

CLIENT_SCOPES = ("records:read", "records:write", "changes:read")
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
KEY_OVERLAP = timedelta(days=7)


async def agency_choices(hub: Hub, user: ConsoleUser) -> list[tuple[str, str]]:
    graph = await hub.catalog.agencies()
    today = datetime.now(VIETNAM).date()
    if not user.is_hub_admin:
        code = user.agency or ""
        agency = graph.agencies.get(code)
        return [(code, agency.name if agency else code)]
    return sorted((a.code, a.name) for a in graph.as_of(today))


def _key_state(key: ApiKeyInfo) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
        return "expired"
    return "active"


async def _clients_page(request: Request, hub: Hub, user: ConsoleUser,
                        **extra: Any) -> Response:
    agency = policy.tenant_filter(user.principal, None)
    clients = await list_clients(hub, agency=agency)
    keys = await list_api_keys(hub, agency=agency)
    counts: dict[str, int] = {}
    for key in keys:
        if _key_state(key) == "active":
            counts[key.client_id] = counts.get(key.client_id, 0) + 1
    return render(request, "clients.html", {
        "clients": clients, "key_counts": counts, "agencies": await agency_choices(hub, user),
        "scopes": CLIENT_SCOPES, "auth_methods": AUTH_METHODS, **extra,
    })


@router.get("/clients")
async def clients_page(request: Request, user: User, hub: HubDep) -> Response:
    return await _clients_page(request, hub, user)


def _scopes(form: Form, allowed: tuple[str, ...]) -> list[str]:
    chosen = form.texts("scopes")
    unknown = [s for s in chosen if s not in allowed]
    if unknown or not chosen:
        raise InvalidInput("Hãy chọn ít nhất một quyền hợp lệ.", "Choose at least one valid scope.")
    return chosen


@router.post("/clients")
async def client_create(request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    agency = form.code("agency", label="cơ quan")
    name = form.text("name", required=True, label="tên ứng dụng")
    scopes = _scopes(form, CLIENT_SCOPES)
    method = form.text("auth_method", max_length=40) or AUTH_METHODS[0]
    if method not in AUTH_METHODS:
        raise refuse("Phương thức xác thực", "auth method", method, [(m, m) for m in AUTH_METHODS])
    policy.require_tenant(user.principal, agency)
    policy.client_scopes_grantable(user.principal, scopes)
    async with admin_action(hub, user.principal, "admin.clients.create", target=None,
                            agency=agency, details={"scopes": sorted(scopes)}) as tx:
        created = await create_client(hub, agency=agency, name=name, scopes=scopes,
                                      auth_method=method, created_by=user.admin.username,
                                      session=tx)
    return await client_page_response(request, hub, user, created.client.client_id,
                                      secret=created.client_secret, secret_kind="client")


async def client_page_response(
    request: Request, hub: Hub, user: ConsoleUser, client_id: str, **extra: Any
) -> Response:
    await _client_agency(hub, user.principal, client_id)  # 404 outside the admin's agency
    client = await get_client(hub, client_id)
    keys = await list_api_keys(hub, client_id=client_id)
    return render(request, "client.html", {
        "client": client, "keys": [(k, _key_state(k)) for k in reversed(keys)],
        "public_url": str(request.base_url).rstrip("/"), **extra,
    })


@router.get("/clients/{client_id}")
async def client_page(client_id: str, request: Request, user: User, hub: HubDep) -> Response:
    return await client_page_response(request, hub, user, ident(client_id))


def _expiry(form: Form) -> datetime | None:
    day = form.day("expires_on", label="ngày hết hạn")
    if day is None:
        return None
    # The key works through the whole chosen day, Vietnam time.
    ends = datetime.combine(day, time(23, 59, 59), tzinfo=VIETNAM).astimezone(UTC)
    if ends <= datetime.now(UTC):
        raise InvalidInput("Ngày hết hạn phải ở tương lai.",
                           "The expiry date must be in the future.")
    return ends


@router.post("/clients/{client_id}/keys")
async def key_create(client_id: str, request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    client_id = ident(client_id)
    agency = await _client_agency(hub, user.principal, client_id)
    name = form.text("name", required=True, label="tên key")
    client = await get_client(hub, client_id)
    assert client is not None
    scopes = form.texts("scopes") or None
    expires_at = _expiry(form)
    async with admin_action(hub, user.principal, "admin.api_keys.create",
                            target=f"client/{client_id}", agency=agency) as tx:
        created = await create_api_key(hub, client_id=client_id, name=name, scopes=scopes,
                                       expires_at=expires_at, created_by=user.admin.username,
                                       session=tx)
    return await client_page_response(request, hub, user, client_id, secret=created.api_key,
                                      secret_kind="key", message="keys.created")


@router.post("/keys/{key_id}/rotate")
async def key_rotate(key_id: str, request: Request, user: User, hub: HubDep) -> Response:
    await read_form(request, hub)
    key_id = ident(key_id)
    agency = await _key_agency(hub, user.principal, key_id)
    async with admin_action(hub, user.principal, "admin.api_keys.rotate",
                            target=f"api_key/{key_id}", agency=agency) as tx:
        created = await rotate_api_key(hub, key_id, overlap=KEY_OVERLAP,
                                       created_by=user.admin.username, session=tx)
    return await client_page_response(request, hub, user, created.info.client_id,
                                      secret=created.api_key, secret_kind="key",
                                      message="keys.rotated")


@router.post("/keys/{key_id}/revoke")
async def key_revoke(key_id: str, request: Request, user: User, hub: HubDep) -> Response:
    await read_form(request, hub)
    key_id = ident(key_id)
    agency = await _key_agency(hub, user.principal, key_id)
    async with admin_action(hub, user.principal, "admin.api_keys.revoke",
                            target=f"api_key/{key_id}", agency=agency) as tx:
        info = await revoke_api_key(hub, key_id, session=tx)
    return RedirectResponse(f"/console/clients/{info.client_id}?done=revoked", status_code=303)


@router.post("/clients/{client_id}/secret")
async def client_secret(client_id: str, request: Request, user: User, hub: HubDep) -> Response:
    await read_form(request, hub)
    client_id = ident(client_id)
    agency = await _client_agency(hub, user.principal, client_id)
    async with admin_action(hub, user.principal, "admin.clients.rotate_secret",
                            target=f"client/{client_id}", agency=agency) as tx:
        created = await rotate_client_secret(hub, client_id, session=tx)
    authority(hub).forget_client(client_id)
    return await client_page_response(request, hub, user, client_id,
                                      secret=created.client_secret, secret_kind="client")


@router.post("/clients/{client_id}/deactivate")
async def client_deactivate(client_id: str, request: Request, user: User,
                            hub: HubDep) -> Response:
    await read_form(request, hub)
    client_id = ident(client_id)
    agency = await _client_agency(hub, user.principal, client_id)
    async with admin_action(hub, user.principal, "admin.clients.deactivate",
                            target=f"client/{client_id}", agency=agency) as tx:
        await set_client_active(hub, client_id, False, session=tx)
    authority(hub).forget_client(client_id)
    return RedirectResponse(f"/console/clients/{client_id}?done=deactivated", status_code=303)
