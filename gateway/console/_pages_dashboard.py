"""The programme dashboard: progress towards Decision 1079's targets, filterable by year and
agency (former agencies roll into their successors), exportable to XLSX, and the programme
reports (DOCX, PDF, XLSX) for the agency and year chosen: an agency's annual report, or with
all agencies the national review.

Hub admins see the whole programme; an agency admin sees its own agency's figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gateway._reports import check_format
from gateway._reports import render as render_report
from gateway.console._dashboard import bars, group_labels, heat_colour, indicator_view, workbook
from gateway.console._dashboard_charts import (
    CHART_NAMES,
    all_charts,
    archive_charts,
    budget_chart,
    cell_text,
    chart_workbook,
    records_chart,
    target_chart,
    training_chart,
)
from gateway.console._forms import query_text
from gateway.console._i18n import VIETNAM, translator
from gateway.console._pages_auth import User
from gateway.console._render import ConsoleRoute, render
from gateway.console._session import ConsoleUser, language
from gateway.console._xlsx import XLSX_TYPE
from gateway.deps import HubDep
from hub import (
    Hub,
    InvalidInput,
    NotFound,
    ProgrammeProgress,
    annual_report,
    programme_progress,
    review_report,
)

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

FIRST_YEAR = 2022  # the decision's year


def _years() -> list[int]:
    return list(range(max(2028, datetime.now(VIETNAM).year), FIRST_YEAR - 1, -1))


async def _filters(request: Request, hub: Hub, user: ConsoleUser
                   ) -> tuple[int | None, str | None, dict[str, str]]:
    graph = await hub.catalog.agencies()
    year_text = query_text(request, "year", max_length=4)
    year = int(year_text) if year_text.isdigit() and int(year_text) in _years() else None
    agency = query_text(request, "agency", max_length=40) or None
    if not user.is_hub_admin:
        agency = user.agency
    if agency is not None and agency not in graph.agencies:
        raise InvalidInput(f"Cơ quan {agency} không có trong danh mục.",
                           f"Agency {agency} is not in the registry.")
    names = {code: a.name for code, a in graph.agencies.items()}
    return year, agency, names


async def _progress(request: Request, hub: Hub, user: ConsoleUser
                    ) -> tuple[ProgrammeProgress, dict[str, str]]:
    year, agency, names = await _filters(request, hub, user)
    return await programme_progress(hub, year=year, agency=agency), names


@router.get("/dashboard")
async def dashboard(request: Request, user: User, hub: HubDep) -> Response:
    lang = language(request)
    t = translator(lang)
    progress, names = await _progress(request, hub, user)
    graph = await hub.catalog.agencies()
    today = datetime.now(VIETNAM).date()
    agencies = sorted(((a.code, a.name) for a in graph.as_of(today)),
                      key=lambda x: (len(x[0]) > 2, x[0]))
    groups = await group_labels(hub, lang)
    exhibitions = [(names.get(code, code), progress.exhibitions_by_province.get(code, 0))
                   for code in progress.provinces]
    exhibitions.sort(key=lambda x: (-x[1], x[0]))
    heat_rows: list[dict[str, Any]] = []
    for code in progress.provinces:
        months = progress.press_briefings.get(code, [0] * 12)
        heat_rows.append({"code": code, "name": names.get(code, code),
                          "cells": [(n, *heat_colour(n)) for n in months], "total": sum(months)})
    training = [(groups.get(code, code), n) for code, n in progress.training.by_group.items()]
    training.sort(key=lambda x: -x[1])
    return render(request, "dashboard.html", {
        "progress": progress,
        "indicators": [indicator_view(i, t, lang) for i in progress.indicators],
        "years": _years(), "agencies": agencies, "names": names,
        "exhibitions": exhibitions, "heat_rows": heat_rows,
        "heat_legend": [(n, *heat_colour(n)) for n in range(5)],
        "training": bars(training, label_width=200),
        "held": sum(1 for _, n in exhibitions if n), "query": request.url.query,
        "charts": await all_charts(hub, progress.agency, lang), "cell": cell_text,
    })


_CHARTS = {"targets": target_chart, "records": records_chart, "training": training_chart,
           "budget": budget_chart}


@router.get("/dashboard/charts/{name}.xlsx")
async def chart_export(request: Request, name: str, user: User, hub: HubDep) -> Response:
    """One chart's table as a workbook (the agency filter applies; the year does not: the
    charts are over the years)."""
    if name not in CHART_NAMES:
        raise NotFound(f"Không có biểu đồ {name}.", f"No chart {name}.")
    _, agency, names = await _filters(request, hub, user)
    if name in ("archive", "overdue"):
        trend, overdue = await archive_charts(hub, agency, "vi")
        chart = trend if name == "archive" else overdue
    else:
        chart = await _CHARTS[name](hub, agency, "vi")
    label = f"{agency} — {names.get(agency, '')}" if agency else "Mọi cơ quan"
    return Response(chart_workbook(chart, agency_label=label), media_type=XLSX_TYPE, headers={
        "Content-Disposition": f'attachment; filename="bieu-do-{name}-{agency or "tat-ca"}.xlsx"',
        "Cache-Control": "no-store",
    })


@router.get("/dashboard.xlsx")
async def dashboard_export(request: Request, user: User, hub: HubDep) -> Response:
    progress, names = await _progress(request, hub, user)
    groups = await group_labels(hub, "vi")
    agency_label = (f"{progress.agency} — {names.get(progress.agency, '')}"
                    if progress.agency else "Mọi cơ quan")
    body = workbook(progress, names=names, groups=groups, agency_label=agency_label,
                    year_label=str(progress.year) if progress.year else "Mọi năm")
    suffix = "-".join(str(p) for p in (progress.year, progress.agency) if p) or "tat-ca"
    return Response(body, media_type=XLSX_TYPE, headers={
        "Content-Disposition": f'attachment; filename="tien-do-1079-{suffix}.xlsx"',
        "Cache-Control": "no-store",
    })


@router.get("/dashboard/report.{fmt}")
async def dashboard_report(request: Request, fmt: str, user: User, hub: HubDep) -> Response:
    """The report of the dashboard's filters: with an agency, its annual report (the year
    chosen, else the current one); with all agencies, the national review of the year chosen,
    else of every year of the programme so far."""
    report_format = check_format(fmt)
    year, agency, _names = await _filters(request, hub, user)
    today = datetime.now(VIETNAM).date()
    if agency is not None:
        data = await annual_report(hub, agency=agency, year=year or today.year, today=today)
    else:
        data = await review_report(hub, year_from=year or FIRST_YEAR,
                                   year_to=year or max(FIRST_YEAR, today.year), today=today)
    rendered = await run_in_threadpool(render_report, data, report_format)
    return Response(rendered.body, media_type=rendered.content_type, headers={
        "Content-Disposition": f'attachment; filename="{rendered.filename}"',
        "Cache-Control": "no-store",
    })
