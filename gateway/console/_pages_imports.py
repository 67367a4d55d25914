"""Import a file (XLSX, CSV, NDJSON) through the one ingest pipeline, as a background job
with a progress bar; the summary lists rejections by row number with Vietnamese messages.
Templates: one XLSX per record type, Vietnamese headers."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

import schemas
from auth import policy
from gateway.console._forms import ident, read_form
from gateway.console._i18n import VIETNAM
from gateway.console._jobs import ImportJob, get_job, start_import
from gateway.console._labels import record_type_choices, refuse
from gateway.console._pages_auth import User
from gateway.console._render import NO_STORE, ConsoleRoute, render
from gateway.console._session import ConsoleUser, language
from gateway.console._xlsx import FIELD_LABELS, XLSX_TYPE, template_workbook
from gateway.deps import HubDep
from hub import Hub, InvalidInput, NotFound, Principal, detect_format

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)



async def _agencies(hub: Hub, user: ConsoleUser) -> list[tuple[str, str]]:
    graph = await hub.catalog.agencies()
    if not user.is_hub_admin:
        code = user.agency or ""
        return [(code, graph.agencies[code].name if code in graph.agencies else code)]
    today = datetime.now(VIETNAM).date()
    return sorted((a.code, a.name) for a in graph.as_of(today))


@router.get("/import")
async def import_page(request: Request, user: User, hub: HubDep) -> Response:
    return render(request, "import.html", {
        "types": schemas.RECORD_TYPES, "agencies": await _agencies(hub, user),
    })


@router.post("/import")
async def import_upload(request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    record_type = form.text("record_type", max_length=40)
    if record_type not in schemas.RECORD_TYPES:
        raise refuse("Loại hồ sơ", "record type", record_type, record_type_choices)
    agency = form.code("agency", required=False) or (user.agency or "")
    policy.require_tenant(user.principal, agency)
    graph = await hub.catalog.agencies()
    if agency not in graph.agencies:
        raise NotFound(f"Không có cơ quan {agency}.", f"Unknown agency {agency}.")
    upload = form.file("file")
    if upload is None:
        raise InvalidInput("Hãy chọn một tệp.", "Choose a file.")
    filename = Path(upload.filename or "data").name[:200]
    fmt = detect_format(Path(filename))
    handle, temp = tempfile.mkstemp(prefix="rightshub-import-", suffix="." + fmt)
    with os.fdopen(handle, "wb") as out:
        while chunk := await upload.read(1 << 20):
            out.write(chunk)
    principal = Principal(client_id=user.admin.username, agency=agency,
                          scopes=frozenset({"records:read", "records:write"}), kind="admin",
                          role=user.admin.role)
    job = start_import(hub, principal, owner=user.admin.username, record_type=record_type,
                       path=Path(temp), fmt=fmt, filename=filename, dry_run=form.flag("dry_run"))
    return RedirectResponse(f"/console/import/jobs/{job.id}", status_code=303)


def _job(hub: Hub, user: ConsoleUser, job_id: str) -> ImportJob:
    job = get_job(hub, ident(job_id))
    if job is None or (job.owner != user.admin.username and not user.is_hub_admin):
        raise NotFound("Không có lượt nhập này.", "Unknown import job.")
    return job


@router.get("/import/jobs/{job_id}")
async def job_page(job_id: str, request: Request, user: User, hub: HubDep) -> Response:
    job = _job(hub, user, job_id)
    rt = schemas.RECORD_TYPES[job.record_type]
    return render(request, "import_job.html", {
        "job": job, "status": job.status(language(request)), "rt": rt,
        "rejections": job.summary.rejections[:1000] if job.summary else [],
        "labels": FIELD_LABELS if language(request) == "vi" else {},
    })


@router.get("/import/jobs/{job_id}/status")
async def job_status(job_id: str, request: Request, user: User, hub: HubDep) -> Response:
    job = _job(hub, user, job_id)
    return JSONResponse(job.status(language(request)), headers=NO_STORE)


@router.get("/import/templates/{record_type}.xlsx")
async def template(record_type: str, user: User) -> Response:
    if record_type not in schemas.RECORD_TYPES:
        raise NotFound("Không có loại hồ sơ này.", "Unknown record type.")
    body = template_workbook(record_type)
    return Response(body, media_type=XLSX_TYPE, headers={
        "Content-Disposition": f'attachment; filename="mau-nhap-{record_type}.xlsx"',
    })
