"""``/v1/admin/connectors``: pull connectors, thin handlers over the services of
``connectors``.

Hub admins manage every connector; an agency admin only its own agency's (another agency's
connector answers 404, not 403: no existence oracle). Writes are audited in their own
transaction by ``auth._admins.admin_action``; check and preview call the agency system, so
they are audited after the call rather than holding the write lock during it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

import connectors
from auth import admin_action, policy
from gateway._admin_wire import StrictBody
from gateway._bundle_web import import_uploaded_bundle
from gateway.deps import Admin, HubDep
from gateway.http._json import JSON
from gateway.http._strict_json import StrictJSONRoute
from gateway.routers.records import PROBLEMS
from hub import Hub, NotFound, Principal, audit_in_own_transaction

router = APIRouter(
    route_class=StrictJSONRoute,
    prefix="/admin/connectors",
    tags=["Connectors"],
    responses={**{k: v for k, v in PROBLEMS.items() if k in (400, 401, 403, 404)},
               409: {**PROBLEMS[400], "description": "Conflict"},
               502: {**PROBLEMS[400], "description": "The agency system failed"}},
)

ConnectorId = Annotated[str, PathParam(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
AgencyQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]


class RunRequest(StrictBody):

    full_refresh: bool = False


class ConnectorOut(connectors.ConnectorInfo):
    # The fields are the SQLModel entity's (hub/tables/_connector.py: ConnectorPublic);
    # this class only names the schema in the contract. No docstring: it would become the
    # schema's description and change openapi/openapi.json.
    pass


class ConnectorListOut(BaseModel):
    items: list[ConnectorOut]


class RunOut(BaseModel):
    id: str
    connector_id: str
    worker: str | None
    trigger: str = Field(description="schedule, or manual (asked for by an admin: the API, "
                         "the console or the command line)")
    requested_by: str | None = Field(default=None,
                                     description="who asked for a manual run")
    kind: str = Field(description="pull, or reconcile (a key-only sweep and its repairs)")
    full_refresh: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    pages: int
    fetched: int
    created: int
    updated: int
    unchanged: int
    deleted: int
    rejected: int
    retries: int
    shifts: int = Field(description="shifts of the source met while paging")
    missing: int = Field(description="reconcile: live at the source, not in the hub")
    stale: int = Field(description="reconcile: newer at the source than in the hub")
    gone: int = Field(description="reconcile: deleted at the source without a tombstone")
    errors: list[dict[str, Any]] = Field(
        description="the first 50 errors of the run, and the one that ended it")
    errors_total: int = Field(default=0, description="every error of the run, kept or not")


class RunListOut(BaseModel):
    items: list[RunOut]


class CheckOut(BaseModel):
    ok: bool
    steps: list[dict[str, Any]]


class PreviewOut(BaseModel):
    connector: str
    streams: list[dict[str, Any]]


async def _agency_of(hub: Hub, principal: Principal, connector_id: str) -> str:
    try:
        info = await connectors.get_connector(hub, connector_id)
    except NotFound:
        info = None
    if info is None or (not policy.is_hub_admin(principal) and info.agency != principal.agency):
        raise NotFound(f"Không có connector {connector_id}.", f"Unknown connector {connector_id}.")
    return info.agency


@router.get("", summary="List pull connectors", response_model=ConnectorListOut)
async def connector_list(principal: Admin, hub: HubDep, agency: AgencyQuery = None) -> JSON:
    agency = policy.tenant_filter(principal, agency)
    items = await connectors.list_connectors(hub, agency=agency)
    return JSON({"items": [c.model_dump() for c in items]})


@router.post("", summary="Create a pull connector (secrets are sealed, never shown again)",
             status_code=201, response_model=ConnectorOut)
async def connector_create(body: connectors.ConnectorCreate, principal: Admin, hub: HubDep) -> JSON:
    policy.require_tenant(principal, body.agency)
    async with admin_action(hub, principal, "admin.connectors.create", target=None,
                            agency=body.agency, details={"kind": body.kind}) as tx:
        info = await connectors.create_connector(
            hub, tx, agency=body.agency, name=body.name, kind=body.kind, config=body.config,
            secrets=body.secrets.unwrap(), schedule_seconds=body.schedule_seconds,
            enabled=body.enabled, connector_id=body.id, created_by=principal.client_id,
        )
    return JSON(info.model_dump(), status_code=201)


@router.get("/{connector_id}", summary="One connector", response_model=ConnectorOut)
async def connector_get(connector_id: ConnectorId, principal: Admin, hub: HubDep) -> JSON:
    await _agency_of(hub, principal, connector_id)
    return JSON((await connectors.get_connector(hub, connector_id)).model_dump())


@router.patch("/{connector_id}", summary="Change a connector's definition, secrets, schedule "
              "or enabled flag", response_model=ConnectorOut)
async def connector_update(
    connector_id: ConnectorId, body: connectors.ConnectorUpdate, principal: Admin, hub: HubDep
) -> JSON:
    agency = await _agency_of(hub, principal, connector_id)
    details: dict[str, Any] = {"fields": sorted(body.model_fields_set)}
    async with admin_action(hub, principal, "admin.connectors.update",
                            target=f"connector/{connector_id}", agency=agency,
                            details=details) as tx:
        info = await connectors.update_connector(
            hub, tx, connector_id, name=body.name, config=body.config,
            secrets=body.secrets.unwrap() if body.secrets else None,
            schedule_seconds=body.schedule_seconds, enabled=body.enabled, audit=details,
        )
    return JSON(info.model_dump())


@router.delete("/{connector_id}", summary="Delete a connector with its runs and checkpoints "
               "(the records it pulled stay)", status_code=204, response_class=Response)
async def connector_delete(connector_id: ConnectorId, principal: Admin, hub: HubDep) -> Response:
    agency = await _agency_of(hub, principal, connector_id)
    async with admin_action(hub, principal, "admin.connectors.delete",
                            target=f"connector/{connector_id}", agency=agency) as tx:
        await connectors.delete_connector(tx, connector_id)
    return Response(status_code=204)


async def _audit_call(hub: Hub, principal: Principal, action: str, connector_id: str,
                      agency: str, ok: bool) -> None:
    await audit_in_own_transaction(
        hub.db, actor=principal.client_id, actor_kind=principal.kind, agency=agency,
        action=action, target=f"connector/{connector_id}", request_id=None,
        outcome="ok" if ok else "failed", details={},
    )


@router.post("/{connector_id}/check", summary="Can the hub reach the agency system and "
             "authenticate?", response_model=CheckOut)
async def connector_check(connector_id: ConnectorId, principal: Admin, hub: HubDep) -> JSON:
    agency = await _agency_of(hub, principal, connector_id)
    result = await connectors.check_connector(hub, connector_id)
    await _audit_call(hub, principal, "admin.connectors.check", connector_id, agency,
                      result["ok"])
    return JSON(result)


@router.post("/{connector_id}/preview", summary="Map the first page and report data quality "
             "per field; nothing is written", response_model=PreviewOut)
async def connector_preview(connector_id: ConnectorId, principal: Admin, hub: HubDep) -> JSON:
    agency = await _agency_of(hub, principal, connector_id)
    try:
        result = await connectors.preview_connector(hub, connector_id)
    except (connectors.ConnectorError, httpx.HTTPError) as exc:
        await _audit_call(hub, principal, "admin.connectors.preview", connector_id, agency,
                          False)
        raise connectors.UpstreamFailed.of(exc) from None
    await _audit_call(hub, principal, "admin.connectors.preview", connector_id, agency, True)
    return JSON(result)


@router.post("/{connector_id}/run", summary="Run now: the worker starts it within its poll "
             "interval", status_code=202, response_model=ConnectorOut)
async def connector_run(
    connector_id: ConnectorId, principal: Admin, hub: HubDep, body: RunRequest | None = None
) -> JSON:
    agency = await _agency_of(hub, principal, connector_id)
    body = body or RunRequest()
    async with admin_action(hub, principal, "admin.connectors.run",
                            target=f"connector/{connector_id}", agency=agency,
                            details={"full_refresh": body.full_refresh}) as tx:
        info = await connectors.request_run(hub, tx, connector_id,
                                            full_refresh=body.full_refresh,
                                            requested_by=principal.client_id)
    return JSON(info.model_dump(), status_code=202)


@router.get("/{connector_id}/runs", summary="Run history, newest first, with counts and "
            "errors", response_model=RunListOut)
async def connector_runs(
    connector_id: ConnectorId, principal: Admin, hub: HubDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JSON:
    await _agency_of(hub, principal, connector_id)
    return JSON({"items": await connectors.list_runs(hub, connector_id, limit=limit)})


@router.post(
    "/{connector_id}/bundles",
    summary="Import an offline exchange bundle of the peer this hub-feed connector follows",
    description="The body is the bundle file (`application/x-tar`, docs/exchange-api.md, "
    "\"Offline exchange bundles\"). It is checked whole first (signature by the connector's "
    "`bundle_jwks`, checksums, order, replay, gap): a refusal is a 422 `bundle-refused` "
    "problem and imports nothing. Answers the import summary.",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/x-tar": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def connector_bundle_import(
    connector_id: ConnectorId, request: Request, principal: Admin, hub: HubDep
) -> JSON:
    agency = await _agency_of(hub, principal, connector_id)
    report = await import_uploaded_bundle(hub, request.stream(), connector_id=connector_id)
    await audit_in_own_transaction(
        hub.db, actor=principal.client_id, actor_kind=principal.kind, agency=agency,
        action="admin.connectors.bundle_import", target=f"connector/{connector_id}",
        request_id=None, outcome="ok",
        details={k: report.get(k) for k in ("bundle_id", "issuer", "applied", "status")},
    )
    return JSON(report)
