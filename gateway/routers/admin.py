"""The admin API under ``/v1/admin``: thin handlers over the services of ``auth``.

Every route but ``POST /v1/admin/session`` needs the ``admin`` scope (``gateway.deps.Admin``);
tenancy (agency admins: their agency only) and ``admin:hub`` are checked by ``auth._policy``;
every write is audited in its own transaction by ``auth._admins.admin_action``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel

from auth import (
    AuditFilter,
    SuccessorLink,
    admin_action,
    authority,
    check_scopes,
    create_admin,
    create_agency,
    create_api_key,
    create_client,
    get_admin,
    get_client,
    list_admins,
    list_agencies,
    list_api_keys,
    list_clients,
    login,
    policy,
    query_audit,
    reset_password,
    revoke_api_key,
    rotate_api_key,
    rotate_client_secret,
    set_client_active,
    start_session,
    update_admin,
    update_agency,
    update_client,
)
from gateway import _admin_wire as w
from gateway.deps import Admin, HubAdmin, HubDep, client_address
from gateway.http._json import JSON
from gateway.http._params import SAFE_TEXT
from gateway.http._strict_json import StrictJSONRoute
from gateway.routers.records import PROBLEMS
from hub import Hub, NotFound, Principal
from hub.tables import ApiKey, Client

router = APIRouter(
    route_class=StrictJSONRoute,
    prefix="/admin",
    tags=["Administration"],
    responses={**{k: v for k, v in PROBLEMS.items() if k in (400, 401, 403, 404)},
               409: {**PROBLEMS[400], "description": "Conflict"},
               429: {**PROBLEMS[400], "description": "Too many requests"}},
)

AgencyQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
Code = Annotated[str, PathParam(max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
ClientId = Annotated[str, PathParam(max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]
KeyId = Annotated[str, PathParam(max_length=60, pattern=r"^[A-Za-z0-9_]+$")]
Username = Annotated[str, PathParam(max_length=200, pattern=r"^[A-Za-z0-9._@+-]+$")]


def _out(value: BaseModel) -> dict[str, Any]:
    return value.model_dump()


def _unknown_client(client_id: str) -> NotFound:
    return NotFound(f"Không có client {client_id}.", f"Unknown client {client_id}.")


async def _client_agency(hub: Hub, principal: Principal, client_id: str) -> str:
    """The client's agency, after checking the caller may administer it. An agency admin
    asking for another agency's client gets 404, not 403: no existence oracle."""
    info = await get_client(hub, client_id)
    if info is None:
        raise _unknown_client(client_id)
    if not policy.is_hub_admin(principal) and info.agency != principal.agency:
        raise _unknown_client(client_id)
    return info.agency


async def _key_agency(hub: Hub, principal: Principal, key_id: str) -> str:
    async with hub.db.session() as session:
        row = await session.get(ApiKey, key_id.removeprefix("rhk_"))
        client = await session.get(Client, row.client_id) if row is not None else None
    if client is None or (
        not policy.is_hub_admin(principal) and client.agency != principal.agency
    ):
        raise NotFound("Không có API key này.", "Unknown API key.")
    return client.agency


# --- session ---------------------------------------------------------------------------------


@router.post("/session", summary="Log in: a short-lived admin bearer token",
             response_model=w.SessionOut)
async def session(body: w.SessionRequest, request: Request, hub: HubDep) -> JSON:
    """Username and password of a local admin account. Failures answer 401 alike; repeated
    failures make this username wait from this address, then the address, and lock the
    account only after many more (429 with Retry-After). The token ends with its session: a
    password reset, a role change or deactivation end it at once."""
    admin = await login(hub, body.username, body.password.get_secret_value(),
                        address=client_address(request))
    token = await start_session(hub, admin)
    return JSON({**token.as_response(), "username": admin.username, "role": admin.role,
                 "agency": admin.agency})


# --- agencies ----------------------------------------------------------------------------------


@router.get("/agencies", summary="The agency registry with successor links",
            response_model=w.AgencyListOut)
async def agencies(principal: Admin, hub: HubDep) -> JSON:
    agency = None if policy.is_hub_admin(principal) else principal.agency
    return JSON({"items": await list_agencies(hub, agency=agency)})


def _links(items: list[w.SuccessorIn] | None) -> list[SuccessorLink] | None:
    if items is None:
        return None
    return [SuccessorLink(i.code, i.effective_on, i.note) for i in items]


@router.post("/agencies", summary="Add an agency to the registry (hub admins)",
             status_code=201, response_model=w.AgencyOut)
async def agency_create(body: w.AgencyCreate, principal: HubAdmin, hub: HubDep) -> JSON:
    policy.require_hub_admin(principal)
    values = body.model_dump(exclude={"successors"})
    async with admin_action(hub, principal, "admin.agencies.create",
                            target=f"agency/{body.code}", agency=body.code,
                            details={"successors": [s.code for s in body.successors]}) as tx:
        out = await create_agency(hub, tx, **values, successors=_links(body.successors))
    return JSON(out.model_dump(), status_code=201)


@router.patch("/agencies/{code}", summary="Update an agency: validity dates, successor links "
              "(hub admins)", response_model=w.AgencyOut)
async def agency_update(
    code: Code, body: w.AgencyUpdate, principal: HubAdmin, hub: HubDep
) -> JSON:
    policy.require_hub_admin(principal)
    values = body.model_dump(exclude_unset=True, exclude={"successors"})
    async with admin_action(hub, principal, "admin.agencies.update", target=f"agency/{code}",
                            agency=code, details={"fields": sorted(body.model_fields_set)}) as tx:
        out = await update_agency(hub, tx, code, successors=_links(body.successors), **values)
    return JSON(out.model_dump())


# --- clients -----------------------------------------------------------------------------------


@router.post("/clients", summary="Create an OAuth2 client (the secret is shown once)",
             status_code=201, response_model=w.ClientCreated)
async def client_create(body: w.ClientCreate, principal: Admin, hub: HubDep) -> JSON:
    policy.require_tenant(principal, body.agency)
    policy.client_scopes_grantable(principal, body.scopes)
    async with admin_action(hub, principal, "admin.clients.create", target=None,
                            agency=body.agency, details={"scopes": sorted(body.scopes)}) as tx:
        created = await create_client(
            hub, agency=body.agency, name=body.name, scopes=body.scopes,
            auth_method=body.auth_method, jwks=body.jwks, client_id=body.client_id,
            created_by=principal.client_id, session=tx,
        )
    return JSON({**_out(created.client), "client_secret": created.client_secret},
                status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/clients", summary="List clients", response_model=w.ClientListOut)
async def clients(principal: Admin, hub: HubDep, agency: AgencyQuery = None) -> JSON:
    agency = policy.tenant_filter(principal, agency)
    return JSON({"items": [_out(c) for c in await list_clients(hub, agency=agency)]})


@router.get("/clients/{client_id}", summary="One client", response_model=w.ClientOut)
async def client_get(client_id: ClientId, principal: Admin, hub: HubDep) -> JSON:
    await _client_agency(hub, principal, client_id)
    info = await get_client(hub, client_id)
    if info is None:  # removed since the check above
        raise _unknown_client(client_id)
    return JSON(_out(info))


@router.patch("/clients/{client_id}", summary="Update a client's name, scopes or active flag",
              response_model=w.ClientOut)
async def client_update(
    client_id: ClientId, body: w.ClientUpdate, principal: Admin, hub: HubDep
) -> JSON:
    agency = await _client_agency(hub, principal, client_id)
    values = body.model_dump(exclude_unset=True, exclude_none=True)
    if "scopes" in values:
        policy.client_scopes_grantable(principal, values["scopes"])
        values["scopes"] = check_scopes(values["scopes"])
    async with admin_action(hub, principal, "admin.clients.update",
                            target=f"client/{client_id}", agency=agency,
                            details={"fields": sorted(values)}) as tx:
        info = await update_client(hub, client_id, tx, **values)
    authority(hub).forget_client(client_id)
    return JSON(_out(info))


@router.delete("/clients/{client_id}", summary="Deactivate a client (its tokens and keys stop)",
               response_model=w.ClientOut)
async def client_delete(client_id: ClientId, principal: Admin, hub: HubDep) -> JSON:
    agency = await _client_agency(hub, principal, client_id)
    async with admin_action(hub, principal, "admin.clients.deactivate",
                            target=f"client/{client_id}", agency=agency) as tx:
        info = await set_client_active(hub, client_id, False, session=tx)
    authority(hub).forget_client(client_id)
    return JSON(_out(info))


@router.post("/clients/{client_id}/secret", summary="Rotate a client's secret (shown once)",
             response_model=w.ClientCreated)
async def client_secret(client_id: ClientId, principal: Admin, hub: HubDep) -> JSON:
    agency = await _client_agency(hub, principal, client_id)
    async with admin_action(hub, principal, "admin.clients.rotate_secret",
                            target=f"client/{client_id}", agency=agency) as tx:
        created = await rotate_client_secret(hub, client_id, session=tx)
    authority(hub).forget_client(client_id)
    return JSON({**_out(created.client), "client_secret": created.client_secret},
                headers={"Cache-Control": "no-store"})


# --- API keys ----------------------------------------------------------------------------------


@router.post("/api-keys", summary="Create an API key (the key is shown once)", status_code=201,
             response_model=w.ApiKeyCreated)
async def api_key_create(body: w.ApiKeyCreate, principal: Admin, hub: HubDep) -> JSON:
    agency = await _client_agency(hub, principal, body.client_id)
    async with admin_action(hub, principal, "admin.api_keys.create",
                            target=f"client/{body.client_id}", agency=agency) as tx:
        created = await create_api_key(
            hub, client_id=body.client_id, name=body.name, scopes=body.scopes,
            expires_at=_aware(body.expires_at), created_by=principal.client_id, session=tx,
        )
    return JSON({**_out(created.info), "api_key": created.api_key}, status_code=201,
                headers={"Cache-Control": "no-store"})


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get("/api-keys", summary="List API keys by prefix or client",
            response_model=w.ApiKeyListOut)
async def api_keys(
    principal: Admin,
    hub: HubDep,
    client_id: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9._-]+$")] = None,
    prefix: Annotated[str | None, Query(max_length=60, pattern=r"^[A-Za-z0-9_]+$")] = None,
    agency: AgencyQuery = None,
) -> JSON:
    agency = policy.tenant_filter(principal, agency)
    items = await list_api_keys(hub, client_id=client_id, prefix=prefix, agency=agency)
    return JSON({"items": [_out(k) for k in items]})


@router.post("/api-keys/{key_id}/rotate", summary="Rotate: a new key, the old one overlaps",
             status_code=201, response_model=w.ApiKeyCreated)
async def api_key_rotate(
    key_id: KeyId, principal: Admin, hub: HubDep, body: w.ApiKeyRotate | None = None
) -> JSON:
    agency = await _key_agency(hub, principal, key_id)
    body = body or w.ApiKeyRotate()
    overlap = None if body.overlap_seconds is None else timedelta(seconds=body.overlap_seconds)
    async with admin_action(hub, principal, "admin.api_keys.rotate",
                            target=f"api_key/{key_id}", agency=agency) as tx:
        created = await rotate_api_key(hub, key_id, overlap=overlap,
                                       expires_at=_aware(body.expires_at),
                                       created_by=principal.client_id, session=tx)
    return JSON({**_out(created.info), "api_key": created.api_key}, status_code=201,
                headers={"Cache-Control": "no-store"})


@router.post("/api-keys/{key_id}/revoke", summary="Revoke an API key (effective at once)",
             response_model=w.ApiKeyOut)
async def api_key_revoke(key_id: KeyId, principal: Admin, hub: HubDep) -> JSON:
    agency = await _key_agency(hub, principal, key_id)
    async with admin_action(hub, principal, "admin.api_keys.revoke",
                            target=f"api_key/{key_id}", agency=agency) as tx:
        info = await revoke_api_key(hub, key_id, session=tx)
    return JSON(_out(info))


# --- admin users -------------------------------------------------------------------------------


async def _user_agency(hub: Hub, principal: Principal, username: str) -> str | None:
    info = await get_admin(hub, username)
    if info is None or (not policy.is_hub_admin(principal) and info.agency != principal.agency):
        raise NotFound(f"Không có tài khoản {username}.", f"Unknown admin {username}.")
    return info.agency


@router.post("/users", summary="Create an admin account", status_code=201,
             response_model=w.AdminUserOut)
async def user_create(body: w.AdminUserCreate, principal: Admin, hub: HubDep) -> JSON:
    policy.grantable_admin_role(principal, body.role, body.agency)
    async with admin_action(hub, principal, "admin.users.create",
                            target=f"admin_user/{body.username}", agency=body.agency,
                            details={"role": body.role}) as tx:
        info = await create_admin(
            hub, username=body.username, role=body.role, agency=body.agency,
            password=body.password.get_secret_value() if body.password else None,
            display_name=body.display_name, sso_subject=body.sso_subject, session=tx,
        )
    return JSON(_out(info), status_code=201)


@router.get("/users", summary="List admin accounts", response_model=w.AdminUserListOut)
async def users(principal: Admin, hub: HubDep, agency: AgencyQuery = None) -> JSON:
    agency = policy.tenant_filter(principal, agency)
    return JSON({"items": [_out(a) for a in await list_admins(hub, agency=agency)]})


@router.get("/users/{username}", summary="One admin account", response_model=w.AdminUserOut)
async def user_get(username: Username, principal: Admin, hub: HubDep) -> JSON:
    await _user_agency(hub, principal, username)
    info = await get_admin(hub, username)
    assert info is not None
    return JSON(_out(info))


@router.patch("/users/{username}", summary="Change an admin's role, agency or active flag",
              response_model=w.AdminUserOut)
async def user_update(
    username: Username, body: w.AdminUserUpdate, principal: Admin, hub: HubDep
) -> JSON:
    current_agency = await _user_agency(hub, principal, username)
    values = body.model_dump(exclude_unset=True)
    current = await get_admin(hub, username)
    assert current is not None
    role = values.get("role", current.role)
    policy.grantable_admin_role(principal, role, values.get("agency", current_agency))
    async with admin_action(hub, principal, "admin.users.update",
                            target=f"admin_user/{username}", agency=current_agency,
                            details={"fields": sorted(values)}) as tx:
        info = await update_admin(hub, username, session=tx, **values)
    return JSON(_out(info))


@router.post("/users/{username}/password", summary="Reset an admin's password",
             response_model=w.AdminUserOut)
async def user_password(
    username: Username, body: w.PasswordReset, principal: Admin, hub: HubDep
) -> JSON:
    agency = await _user_agency(hub, principal, username)
    async with admin_action(hub, principal, "admin.users.reset_password",
                            target=f"admin_user/{username}", agency=agency) as tx:
        info = await reset_password(hub, username, body.password.get_secret_value(), session=tx)
    return JSON(_out(info))


# --- audit log ---------------------------------------------------------------------------------


@router.get("/audit", summary="Query the audit log (newest first, keyset-paginated)",
            response_model=w.AuditPage)
async def audit(
    principal: Admin,
    hub: HubDep,
    agency: AgencyQuery = None,
    actor: Annotated[str | None, Query(max_length=200, pattern=SAFE_TEXT)] = None,
    action: Annotated[str | None, Query(max_length=60, pattern=r"^[a-z0-9._-]+$")] = None,
    since: w.IsoDateTime | None = None,
    until: w.IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> JSON:
    agency = policy.tenant_filter(principal, agency)
    items, next_cursor = await query_audit(
        hub,
        AuditFilter(agency=agency, actor=actor, action=action, since=_aware(since),
                    until=_aware(until)),
        limit=limit, cursor=cursor,
    )
    return JSON({"items": items, "next_cursor": next_cursor})
