"""The dashboard's charts over years: each target's progress, records by kind and by agency,
training per year, budget planned against spent, the archive duty's compliance (its trend)
and its overdue products.

Each :class:`Chart` is the data once: its rows feed the server-drawn SVG (no script, so the
page works offline and under the ``'self'``-only Content-Security-Policy), the table view
that follows it and its XLSX sheet, so the three never disagree.

Budget: per agency and year, *planned* is the ``approved`` allocation (the ``estimate`` when
nothing was approved yet), *spent* the ``settled`` amount.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from gateway.console._i18n import VIETNAM, fmt_date, fmt_number, translator
from gateway.console._labels import kind_vocabulary, record_type_label, vocab_label
from hub import TARGETS, Hub, programme_progress
from hub.archive import archive_compliance
from hub.tables import Record

FIRST_YEAR = 2022  # the decision's year
COLOURS = ("#173f6f", "#c77b12", "#2e7d4f", "#b3261e", "#7a869a")
CHART_NAMES = ("targets", "records", "training", "budget", "archive", "overdue")


@dataclass
class Chart:
    """One chart: ``headers`` are i18n keys, ``rows`` the values (numbers stay numbers)."""

    name: str
    title: str  # i18n key
    headers: list[str]
    rows: list[list[Any]]
    svgs: list[dict[str, Any]] = field(default_factory=list)  # geometry, see columns()/bars()


def columns(categories: list[str], series: list[tuple[str, list[float]]], *,
            title: str, width: int = 560, height: int = 220) -> dict[str, Any]:
    """Geometry of a vertical (grouped) column chart: one group per category, one bar per
    series, a zero line and the largest value as the scale's top."""
    left, bottom, top_pad = 8, 34, 20
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = max((v for _, values in series for v in values), default=0) or 1
    group = plot_w / max(1, len(categories))
    bar = group * 0.8 / max(1, len(series))
    rects = []
    for ci, category in enumerate(categories):
        for si, (label, values) in enumerate(series):
            value = values[ci]
            h = round(plot_h * value / top, 1) if value > 0 else 0.0
            x = round(left + ci * group + group * 0.1 + si * bar, 1)
            rects.append({"x": x, "y": round(top_pad + plot_h - h, 1), "w": round(bar, 1),
                          "h": h, "value": value, "text": _number(value),
                          "category": category, "series": label,
                          "colour": COLOURS[si % len(COLOURS)]})
    labels = [(round(left + (ci + 0.5) * group, 1), c) for ci, c in enumerate(categories)]
    return {"kind": "columns", "title": title, "width": width, "height": height,
            "rects": rects, "labels": labels, "base": top_pad + plot_h,
            "label_y": height - bottom + 16, "left": left, "right": width - 8,
            "legend": [(label, COLOURS[i % len(COLOURS)]) for i, (label, _) in
                       enumerate(series)]}


def _number(value: float) -> str:
    return fmt_number(value, 0 if float(value).is_integer() else 1)


def bars(items: list[tuple[str, float]], *, title: str, width: int = 560, row: int = 22,
         label_width: int = 200) -> dict[str, Any]:
    """Geometry of a horizontal bar chart (the same shape as ``_dashboard.bars``)."""
    top = max((v for _, v in items), default=0) or 1
    span = width - label_width - 70
    return {"kind": "bars", "title": title, "width": width, "height": row * len(items) + 8,
            "row": row, "label_width": label_width,
            "items": [(label, value, round(span * value / top, 1)) for label, value in items]}


def _years() -> list[int]:
    return list(range(FIRST_YEAR, datetime.now(VIETNAM).year + 1))


def _owners(hub: Hub, agency: str | None, graph: Any) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [Record.deleted.is_(False)]
    if agency is not None:
        conditions.append(Record.owner_agency.in_(sorted(graph.rolled_up(agency))))
    return conditions


async def target_chart(hub: Hub, agency: str | None, lang: str) -> Chart:
    t = translator(lang)
    years = _years()
    values: dict[str, list[float]] = {target.code: [] for target in TARGETS}
    for year in years:
        progress = await programme_progress(hub, year=year, agency=agency)
        for i in progress.indicators:
            values[i.code].append(i.value)
    chart = Chart("targets", "chart.targets", ["dash.indicator", "common.year", "dash.value",
                                               "dash.target"], [])
    for target in TARGETS:
        label = target.label_en if lang == "en" else target.label_vi
        for year, value in zip(years, values[target.code], strict=True):
            chart.rows.append([label, year, value, target.target])
        unit = t(f"unit.{target.unit}")
        chart.svgs.append(columns([str(y) for y in years], [(unit, values[target.code])],
                                  title=f"{label} ({unit})", height=180))
    return chart


async def records_chart(hub: Hub, agency: str | None, lang: str) -> Chart:
    graph = await hub.catalog.agencies()
    today = datetime.now(VIETNAM).date()
    stmt = (sa.select(Record.record_type, Record.kind, Record.owner_agency, sa.func.count())
            .where(*_owners(hub, agency, graph))
            .group_by(Record.record_type, Record.kind, Record.owner_agency))
    async with hub.db.session() as session:
        found = (await session.execute(stmt)).all()
    by_kind: dict[tuple[str, str], int] = defaultdict(int)
    by_agency: dict[str, int] = defaultdict(int)
    cells: dict[tuple[str, str, str], int] = defaultdict(int)
    for record_type, kind, owner, n in found:
        kind_label = (vocab_label(kind_vocabulary(record_type), kind, lang) if kind
                      else record_type_label(record_type, lang))
        key = (record_type_label(record_type, lang), kind_label)
        by_kind[key] += n
        for current in sorted(graph.current_successors(owner, today) or {owner}):
            by_agency[current] += n
            cells[(current, *key)] += n
    names = {code: a.name for code, a in graph.agencies.items()}
    chart = Chart("records", "chart.records", ["common.agency", "chart.record_type",
                                               "chart.kind", "dash.count"], [])
    for (code, type_label, kind_label), n in sorted(cells.items()):
        chart.rows.append([f"{code} — {names.get(code, code)}", type_label, kind_label, n])
    kinds = sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0]))[:15]
    agencies = sorted(by_agency.items(), key=lambda kv: (-kv[1], kv[0]))[:15]
    t = translator(lang)
    chart.svgs.append(bars([(k[1], n) for k, n in kinds], title=t("chart.by_kind")))
    chart.svgs.append(bars([(names.get(code, code), n) for code, n in agencies],
                           title=t("chart.by_agency")))
    return chart


def _year_of(value: Any) -> int | None:
    return value.year if isinstance(value, date) else None


async def training_chart(hub: Hub, agency: str | None, lang: str) -> Chart:
    t = translator(lang)
    graph = await hub.catalog.agencies()
    stmt = sa.select(Record.primary_date, Record.data["participants_total"],
                     Record.data["participants_by_group"]).where(
        Record.record_type == "training-courses", *_owners(hub, agency, graph))
    years = _years()
    courses = dict.fromkeys(years, 0)
    people = dict.fromkeys(years, 0)
    async with hub.db.session() as session:
        for day, total, groups in await session.execute(stmt):
            year = _year_of(day)
            if year not in courses:
                continue
            courses[year] += 1
            if isinstance(total, int):
                people[year] += total
            elif isinstance(groups, dict):  # a breakdown only, as hub._programme counts it
                people[year] += sum(n for n in groups.values() if isinstance(n, int))
    chart = Chart("training", "chart.training", ["common.year", "chart.courses",
                                                 "chart.people"],
                  [[y, courses[y], people[y]] for y in years])
    labels = [str(y) for y in years]
    chart.svgs.append(columns(labels, [(t("chart.courses"), [courses[y] for y in years])],
                              title=t("chart.courses"), height=180))
    chart.svgs.append(columns(labels, [(t("chart.people"), [people[y] for y in years])],
                              title=t("chart.people"), height=180))
    return chart


async def budget_chart(hub: Hub, agency: str | None, lang: str) -> Chart:
    t = translator(lang)
    graph = await hub.catalog.agencies()
    stmt = sa.select(Record.owner_agency, Record.data["year"], Record.data["status"],
                     Record.data["amount_vnd"]).where(
        Record.record_type == "budgets", *_owners(hub, agency, graph))
    sums: dict[tuple[str, int, str], int] = defaultdict(int)
    async with hub.db.session() as session:
        for owner, year, status, amount in await session.execute(stmt):
            if isinstance(year, int) and isinstance(amount, int):
                sums[(owner, year, status or "estimate")] += amount
    years = _years()
    planned = dict.fromkeys(years, 0)
    spent = dict.fromkeys(years, 0)
    for owner, year in {(o, y) for o, y, _ in sums}:
        if year not in planned:
            continue
        approved = sums.get((owner, year, "approved"))
        planned[year] += approved if approved is not None else sums.get(
            (owner, year, "estimate"), 0)
        spent[year] += sums.get((owner, year, "settled"), 0)
    chart = Chart("budget", "chart.budget", ["common.year", "chart.planned", "chart.spent"],
                  [[y, planned[y], spent[y]] for y in years])
    chart.svgs.append(columns([str(y) for y in years],
                              [(t("chart.planned"), [planned[y] for y in years]),
                               (t("chart.spent"), [spent[y] for y in years])],
                              title=t("chart.budget")))
    return chart


async def archive_charts(hub: Hub, agency: str | None, lang: str) -> tuple[Chart, Chart]:
    t = translator(lang)
    today = datetime.now(VIETNAM).date()
    found = await archive_compliance(hub, agency=agency, today=today)
    trend = Chart("archive", "chart.archive",
                  ["common.year", "chart.on_time", "chart.late", "chart.overdue",
                   "chart.not_due", "chart.rate"],
                  [[r.year, r.on_time, r.late, r.overdue, r.not_due, r.on_time_rate]
                   for r in found.trend])
    years = [str(r.year) for r in found.trend]
    trend.svgs.append(columns(years, [
        (t("chart.on_time"), [r.on_time for r in found.trend]),
        (t("chart.late"), [r.late for r in found.trend]),
        (t("chart.overdue"), [r.overdue for r in found.trend]),
        (t("chart.not_due"), [r.not_due for r in found.trend]),
    ], title=t("chart.archive")))
    late = sorted((p for p in found.products if p.status == "overdue"),
                  key=lambda p: (p.due_on or today, p.source_id))
    overdue = Chart("overdue", "chart.overdue_list",
                    ["common.agency", "chart.source_id", "chart.title", "chart.released_on",
                     "chart.due_on", "chart.days_overdue"],
                    [[p.owner_agency, p.source_id, p.title, p.released_on, p.due_on,
                      p.days_overdue(today)] for p in late])
    return trend, overdue


async def all_charts(hub: Hub, agency: str | None, lang: str) -> list[Chart]:
    archive, overdue = await archive_charts(hub, agency, lang)
    return [await target_chart(hub, agency, lang), await records_chart(hub, agency, lang),
            await training_chart(hub, agency, lang), await budget_chart(hub, agency, lang),
            archive, overdue]


def cell_text(value: Any, header: str = "") -> str:
    """A table cell as the page shows it: dd/mm/yyyy dates, Vietnamese numbers (a year as
    it is)."""
    if header == "common.year":
        return str(value)
    if value is None:
        return "—"
    if isinstance(value, date):
        return fmt_date(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return fmt_number(value, 1)
    if isinstance(value, int):
        return fmt_number(value)
    return str(value)


def chart_workbook(chart: Chart, *, agency_label: str) -> bytes:
    """One chart's table as an XLSX sheet: Vietnamese headers, dates as dd/mm/yyyy dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    vi = translator("vi")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = vi(chart.title)[:31]
    sheet.append([vi(chart.title)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([f"Cơ quan: {agency_label}",
                  f"Xuất ngày: {fmt_date(datetime.now(VIETNAM).date())}"])
    sheet.append([])
    sheet.append([vi(h) for h in chart.headers])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0F2D52")
    for row in chart.rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, date):
                cell.number_format = "DD/MM/YYYY"
    for index in range(len(chart.headers)):
        sheet.column_dimensions[chr(ord("A") + index)].width = 18 if index else 40
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
