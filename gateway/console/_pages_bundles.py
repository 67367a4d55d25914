"""Offline exchange bundles in the console (docs/exchange-api.md, "Offline exchange
bundles"): download a bundle of this hub's changes, as the REST export does (same read-rights
rule, ``gateway._bundle_web``), and upload a peer's bundle into the hub-feed connector that
follows that peer. A refused bundle shows the reason in the admin's language and imports
nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

import connectors
import schemas
from auth import policy
from gateway._bundle_web import bundle_download, import_uploaded_bundle
from gateway.console._forms import CODE, Form, ident, read_form
from gateway.console._pages_auth import User
from gateway.console._pages_clients import agency_choices
from gateway.console._render import ConsoleRoute, render
from gateway.console._session import ConsoleUser
from gateway.deps import HubDep
from hub import Hub, HubError, InvalidInput, NotFound, audit_in_own_transaction

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


async def _peers(hub: Hub, user: ConsoleUser) -> list[connectors.ConnectorInfo]:
    """The hub-feed connectors this admin manages: the peers whose bundles it may import."""
    agency = policy.tenant_filter(user.principal, None)
    return [c for c in await connectors.list_connectors(hub, agency=agency)
            if "bundles" in getattr(connectors.find_kind(c.kind), "features", ())]


async def _page(request: Request, hub: Hub, user: ConsoleUser, *, report: Any = None,
                error: HubError | None = None, where: str = "") -> Response:
    return render(request, "bundles.html", {
        "types": schemas.RECORD_TYPES, "agencies": await agency_choices(hub, user),
        "peers": await _peers(hub, user), "report": report, "error": error, "where": where,
    }, status=error.status if error is not None else 200)


def _cursor(form: Form, name: str, label: str) -> int | None:
    value = form.text(name, max_length=20, label=label)
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(f"{label} phải là số nguyên không âm.",
                           f"{label} must be a non-negative integer.")
    return int(value)


@router.get("/bundles")
async def bundles_page(request: Request, user: User, hub: HubDep) -> Response:
    return await _page(request, hub, user)


@router.post("/bundles/export")
async def bundles_export(request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    try:
        as_agency = form.code("as_agency", required=False, label="cơ quan đọc / reader")
        agencies = [a for a in form.texts("agency", max_length=40) if a]
        for code in agencies:
            if not CODE.match(code):
                raise InvalidInput(f"Mã cơ quan {code} không hợp lệ.", f"Invalid agency {code}.")
        return await bundle_download(
            hub, user.principal, as_agency=as_agency or user.agency,
            agencies=agencies or None,
            record_types=[r for r in form.texts("record_type", max_length=40) if r] or None,
            after=_cursor(form, "after", "after") or 0, until=_cursor(form, "until", "until"),
            files=form.flag("files"))
    except HubError as exc:
        return await _page(request, hub, user, error=exc, where="export")


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(1 << 20):
        yield chunk


@router.post("/bundles/import")
async def bundles_import(request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    try:
        connector_id = ident(form.code("connector", label="kết nối / connector"))
        if connector_id not in {c.id for c in await _peers(hub, user)}:
            raise NotFound(f"Không có kết nối hub {connector_id}.",
                           f"Unknown hub-feed connector {connector_id}.")
        upload = form.file("file")
        if upload is None:
            raise InvalidInput("Hãy chọn tệp gói.", "Choose the bundle file.")
        report = await import_uploaded_bundle(hub, _chunks(upload), connector_id=connector_id)
    except HubError as exc:
        return await _page(request, hub, user, error=exc, where="import")
    await audit_in_own_transaction(  # the same trail as the REST import
        hub.db, actor=user.principal.client_id, actor_kind=user.principal.kind,
        agency=next(c.agency for c in await _peers(hub, user) if c.id == connector_id),
        action="admin.connectors.bundle_import", target=f"connector/{connector_id}",
        request_id=None, outcome="ok",
        details={k: report.get(k) for k in ("bundle_id", "issuer", "applied", "status")},
    )
    return await _page(request, hub, user, report=report)
