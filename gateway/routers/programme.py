"""Programme figures over REST: the archive duty's compliance and its overdue products, and
the programme reports (annual per agency, national review) as DOCX, PDF or XLSX."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from gateway._reports import check_format, render
from gateway.deps import HubDep, Reader
from gateway.http._json import JSON
from gateway.routers.records import PROBLEMS
from hub import DutyProduct, annual_report, archive_compliance, duty_products, review_report

router = APIRouter(prefix="/programme", tags=["Programme"], responses=PROBLEMS)

AgencyCode = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.-]{1,40}$",
                                         description="An agency and those it replaced")]
YearFrom = Annotated[int | None, Query(alias="from", ge=1945, le=2100,
                                       description="First release year")]
YearTo = Annotated[int | None, Query(alias="to", ge=1945, le=2100,
                                     description="Last release year")]


def _today() -> date:
    return date.today()


def _product(p: DutyProduct, today: date) -> dict[str, Any]:
    return {
        "id": p.record_id, "source_id": p.source_id, "owner_agency": p.owner_agency,
        "agencies": list(p.agencies), "title": p.title, "kind": p.kind,
        "funding_source": p.funding_source, "released_on": p.released_on,
        "due_on": p.due_on, "deposited_on": p.deposited_on, "status": p.status,
        "days_overdue": p.days_overdue(today),
    }


@router.get("/archive-compliance",
            summary="Archive duty: state-funded products deposited in time, per agency and year")
async def compliance(
    principal: Reader,
    hub: HubDep,
    agency: AgencyCode = None,
    year_from: YearFrom = None,
    year_to: YearTo = None,
) -> Response:
    """Products paid for by the state budget must have a main file in the archive within
    ``archive_deposit_days`` (default 90) of release. Counts per agency in force and release
    year (``on_time``, ``late``, ``overdue``, ``not_due``, ``undated``), the trend over years
    and the totals, over the products the caller may read."""
    today = _today()
    found = await archive_compliance(hub, agency=agency, year_from=year_from,
                                     year_to=year_to, principal=principal, today=today)
    return JSON({
        "as_of": found.as_of, "deposit_days": found.deposit_days,
        "funding_sources": list(found.funding_sources),
        "totals": found.totals.as_dict(),
        "rows": [r.as_dict() for r in found.rows],
        "trend": [r.as_dict() for r in found.trend],
    })


@router.get("/archive-compliance/overdue",
            summary="Archive duty: state-funded products whose deposit is overdue")
async def overdue(
    principal: Reader,
    hub: HubDep,
    agency: AgencyCode = None,
    year_from: YearFrom = None,
    year_to: YearTo = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Overdue products, the longest overdue first."""
    today = _today()
    products = await duty_products(hub, agency=agency, year_from=year_from, year_to=year_to,
                                   principal=principal, today=today)
    late = sorted((p for p in products if p.status == "overdue"),
                  key=lambda p: (p.due_on or today, p.source_id))
    return JSON({"as_of": today, "total": len(late),
                 "items": [_product(p, today) for p in late[offset:offset + limit]]})


ReportFormat = Annotated[str, Query(max_length=10, description="docx, pdf or xlsx")]
ReportYear = Annotated[int, Query(description="A year of the programme (2022-2100)")]


def _download(body: bytes, content_type: str, name: str) -> Response:
    return Response(body, media_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.get("/reports/annual", summary="Annual report of an agency (DOCX, PDF or XLSX)",
            response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def report_annual(
    principal: Reader,
    hub: HubDep,
    agency: Annotated[str, Query(pattern=r"^[A-Za-z0-9_.-]{1,40}$",
                                 description="The agency (with those it replaced)")],
    year: ReportYear,
    format: ReportFormat = "docx",
) -> Response:
    """The report on Decision 1079/QĐ-TTg of one agency for one year, laid out as an
    administrative report, with an appendix of the records counted (those the caller may
    read). Rendering runs in a worker thread: a long PDF does not hold up other requests."""
    fmt = check_format(format)
    data = await annual_report(hub, agency=agency, year=year, principal=principal,
                              today=_today())
    rendered = await run_in_threadpool(render, data, fmt)
    return _download(rendered.body, rendered.content_type, rendered.filename)


@router.get("/reports/review", summary="National review over years (DOCX, PDF or XLSX)",
            response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
async def report_review(
    principal: Reader,
    hub: HubDep,
    year_from: Annotated[int, Query(alias="from", description="First year")],
    year_to: Annotated[int, Query(alias="to", description="Last year")],
    format: ReportFormat = "docx",
) -> Response:
    """The national review: every agency's records, former agencies rolled up to the
    agencies in force today."""
    fmt = check_format(format)
    data = await review_report(hub, year_from=year_from, year_to=year_to, principal=principal,
                              today=_today())
    rendered = await run_in_threadpool(render, data, fmt)
    return _download(rendered.body, rendered.content_type, rendered.filename)
