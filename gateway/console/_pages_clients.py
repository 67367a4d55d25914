"""Clients and API keys: create (the secret shown once, with a copy button), rotate, revoke,
last use. The same policy checks, services and audit entries as ``/v1/admin``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, get_args

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
from gateway.console._forms import Form, ident, read_form, validated
from gateway.console._i18n import VIETNAM
from gateway.console._labels import refuse
from gateway.console._pages_auth import User
from gateway.console._render import ConsoleRoute, render
from gateway.console._session import ConsoleUser
from gateway.deps import HubDep
from gateway.routers.admin import _client_agency, _key_agency
from hub import Hub, InvalidInput
from hub.tables import ApiKeyCreate, AuthMethod, ClientCreate, Scope

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

# What the form offers, from the bodies' own types: not the admin scope (given through the API
# only), nor private_key_jwt (the console has no field for a JWKS).
CLIENT_SCOPES: tuple[str, ...] = tuple(s for s in get_args(Scope) if s != "admin")
AUTH_METHODS: tuple[str, ...] = tuple(m for m in get_args(AuthMethod) if m != "private_key_jwt")
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


@router.post("/clients")
async def client_create(request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    # The admin API's body checks the fields (hub.tables.ClientCreate); the form only offers
    # fewer choices, and asks for a scope where the API would take its default ones.
    body = validated(ClientCreate, {**form.given("agency", "name", "auth_method"),
                                    "scopes": form.all("scopes")[:20]})
    if not body.scopes or any(s not in CLIENT_SCOPES for s in body.scopes):
        raise InvalidInput("Hãy chọn ít nhất một quyền hợp lệ.", "Choose at least one valid scope.")
    if body.auth_method not in AUTH_METHODS:
        raise refuse("Phương thức xác thực", "auth method", body.auth_method,
                     [(m, m) for m in AUTH_METHODS])
    policy.require_tenant(user.principal, body.agency)
    policy.client_scopes_grantable(user.principal, body.scopes)
    async with admin_action(hub, user.principal, "admin.clients.create", target=None,
                            agency=body.agency, details={"scopes": sorted(body.scopes)}) as tx:
        created = await create_client(hub, agency=body.agency, name=body.name,
                                      scopes=body.scopes, auth_method=body.auth_method,
                                      created_by=user.admin.username, session=tx)
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
    scopes = form.all("scopes")[:20]
    body = validated(ApiKeyCreate, {**form.given("name"), "client_id": client_id,
                                    "scopes": scopes or None, "expires_at": _expiry(form)},
                     {"name": "keys.name"})
    async with admin_action(hub, user.principal, "admin.api_keys.create",
                            target=f"client/{client_id}", agency=agency) as tx:
        created = await create_api_key(hub, client_id=client_id, name=body.name,
                                       scopes=body.scopes, expires_at=body.expires_at,
                                       created_by=user.admin.username, session=tx)
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
