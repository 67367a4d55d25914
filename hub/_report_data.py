"""The figures of a programme report (Decision 1079/QĐ-TTg), gathered once into plain typed
values that every renderer (DOCX, PDF, XLSX) lays out without touching the database, so the
three formats of one report never disagree.

Two reports:

* ``annual``: one agency (and every agency it replaced, so a former province's records count
  for its successor, as on the dashboard) over one year;
* ``review``: national, over a range of years, with each record's owner rolled up to the
  agencies in force today (the per-agency table lists current agencies only).

A record belongs to a year by its primary date (a product's publication, an event's or a
course's start, a budget's year), as everywhere in the hub. Deleted records never count. The
appendix lists every record counted, so a reader can check each figure.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa

from hub._errors import InvalidInput
from hub._hub import Hub
from hub._principal import Principal
from hub._programme import programme_progress
from hub._query import visible_to
from hub._registry import AgencyGraph
from hub.tables import Record, VocabularyTerm

ReportScope = Literal["annual", "review"]
FIRST_YEAR = 2022  # the decision's year: nothing to report before it
LAST_YEAR = 2100
# Record types counted, in the order of the guidance's tasks.
RECORD_TYPES = ("products", "training-courses", "events", "awards", "plans", "budgets",
                "reports")
TYPE_LABELS = {
    "products": "Sản phẩm truyền thông", "training-courses": "Lớp tập huấn, bồi dưỡng",
    "events": "Sự kiện", "awards": "Giải thưởng, cuộc thi", "plans": "Kế hoạch",
    "budgets": "Dự toán, kinh phí", "reports": "Báo cáo",
}
BUDGET_STATUS_LABELS = {"estimate": "Dự toán", "approved": "Được giao",
                        "settled": "Quyết toán"}


@dataclass(frozen=True, slots=True)
class Count:
    """One row of a "by kind" table: a vocabulary code, its Vietnamese label, a count."""

    code: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class TargetRow:
    """A target of the decision and the value reached in each year of the report."""

    code: str
    label: str
    target: float | None
    target_max: float | None
    unit: str
    values: dict[int, float]
    achieved: bool | None  # in the last year; None when the decision sets no figure


@dataclass(frozen=True, slots=True)
class BudgetRow:
    funding_source: str
    label: str
    estimate_vnd: int
    approved_vnd: int
    settled_vnd: int


@dataclass(frozen=True, slots=True)
class AgencyRow:
    """The review's per-agency table: an agency in force and what its records (with those
    of the agencies it replaced) add up to."""

    code: str
    name: str
    counts: dict[str, int]  # record type -> records
    spent_vnd: int


@dataclass(frozen=True, slots=True)
class AppendixRow:
    record_type: str
    source_id: str
    owner_agency: str
    counted_for: str  # the agency in force it counts for (comma-separated if several)
    title: str
    kind: str | None
    day: date | None
    cost_vnd: int | None


@dataclass(frozen=True, slots=True)
class ReportData:
    scope: ReportScope
    agency_code: str | None  # None: national
    agency_name: str
    year_from: int
    year_to: int
    as_of: date
    totals: dict[str, int]  # record type -> records counted
    products_by_kind: list[Count]
    dissemination: list[Count]  # products by channel
    product_languages: list[Count]
    training_courses: int
    training_participants: int
    training_by_group: list[Count]
    events_by_kind: list[Count]
    awards_by_kind: list[Count]
    budgets: list[BudgetRow]
    spent_vnd: int  # cost_vnd of the activities (products, courses, events)
    spent_by_type: dict[str, int]
    targets: list[TargetRow]
    plans: list[AppendixRow]
    by_agency: list[AgencyRow] = field(default_factory=list)
    appendix: list[AppendixRow] = field(default_factory=list)

    @property
    def period(self) -> str:
        if self.year_from == self.year_to:
            return f"năm {self.year_from}"
        return f"giai đoạn {self.year_from}–{self.year_to}"

    @property
    def planned_vnd(self) -> int:
        """What was planned: the approved allocation where one exists, else the estimate."""
        return sum(b.approved_vnd or b.estimate_vnd for b in self.budgets)

    @property
    def settled_vnd(self) -> int:
        return sum(b.settled_vnd for b in self.budgets)


def check_years(year_from: int, year_to: int) -> None:
    """Refuse a period the programme cannot have figures for (bilingual)."""
    for year in (year_from, year_to):
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise InvalidInput(
                f"Năm {year} nằm ngoài khoảng {FIRST_YEAR}–{LAST_YEAR} của chương trình.",
                f"Year {year} is outside the programme's range {FIRST_YEAR}–{LAST_YEAR}.")
    if year_from > year_to:
        raise InvalidInput("Năm bắt đầu (from) không được sau năm kết thúc (to).",
                           "The first year (from) must not be after the last (to).")


async def annual_report(hub: Hub, *, agency: str, year: int,
                        principal: Principal | None = None,
                        today: date | None = None) -> ReportData:
    """One agency's report for one year (former agencies it replaced included).
    ``principal`` limits it to the records it may read (API callers); the console's
    programme officers and the command line pass none and count every record."""
    check_years(year, year)
    graph = await hub.catalog.agencies()
    if agency not in graph.agencies:
        raise InvalidInput(f"Không có cơ quan mã {agency} trong danh mục.",
                           f"No agency with code {agency} in the registry.")
    return await _Gatherer(hub, graph, today or date.today(), principal).run(
        "annual", agency, year, year)


async def review_report(hub: Hub, *, year_from: int, year_to: int,
                        principal: Principal | None = None,
                        today: date | None = None) -> ReportData:
    """The national review over ``year_from``..``year_to``, agencies rolled up."""
    check_years(year_from, year_to)
    graph = await hub.catalog.agencies()
    return await _Gatherer(hub, graph, today or date.today(), principal).run(
        "review", None, year_from, year_to)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _counts(counter: Counter[str], labels: dict[str, str]) -> list[Count]:
    return [Count(code, labels.get(code, code), n)
            for code, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


class _Gatherer:
    def __init__(self, hub: Hub, graph: AgencyGraph, today: date,
                 principal: Principal | None) -> None:
        self.hub = hub
        self.graph = graph
        self.today = today
        self.principal = principal

    async def _labels(self) -> dict[str, dict[str, str]]:
        async with self.hub.db.session() as session:
            rows = await session.execute(sa.select(
                VocabularyTerm.vocabulary, VocabularyTerm.code, VocabularyTerm.label_vi))
            labels: dict[str, dict[str, str]] = defaultdict(dict)
            for vocabulary, code, label in rows:
                labels[vocabulary][code] = label
            return labels

    async def _rows(self, agency: str | None, year_from: int,
                    year_to: int) -> list[tuple[Any, ...]]:
        conditions: list[sa.ColumnElement[bool]] = [
            Record.deleted.is_(False), Record.record_type.in_(RECORD_TYPES),
            Record.primary_date.between(date(year_from, 1, 1), date(year_to, 12, 31))]
        if agency is not None:
            conditions.append(Record.owner_agency.in_(sorted(self.graph.rolled_up(agency))))
        if self.principal is not None:
            conditions.append(visible_to(self.principal, self.graph))
        stmt = sa.select(Record.record_type, Record.source_id, Record.owner_agency,
                         Record.kind, Record.primary_date, Record.data).where(
            *conditions).order_by(Record.record_type, Record.primary_date, Record.source_id,
                                  Record.owner_agency)
        async with self.hub.db.session() as session:
            return list(await session.execute(stmt))

    def _successors(self, owner: str) -> list[str]:
        return sorted(self.graph.current_successors(owner, self.today) or {owner})

    def _name(self, code: str) -> str:
        agency = self.graph.agencies.get(code)
        return agency.name if agency is not None else code

    async def _targets(self, agency: str | None, year_from: int,
                       year_to: int) -> list[TargetRow]:
        by_year = {year: await programme_progress(self.hub, year=year, agency=agency,
                                                  principal=self.principal, today=self.today)
                   for year in range(year_from, year_to + 1)}
        last = by_year[year_to]
        return [TargetRow(i.code, i.label_vi, i.target, i.target_max, i.unit,
                          {y: p.indicator(i.code).value for y, p in by_year.items()},
                          i.achieved) for i in last.indicators]

    async def run(self, scope: ReportScope, agency: str | None, year_from: int,
                  year_to: int) -> ReportData:
        labels = await self._labels()
        rows = await self._rows(agency, year_from, year_to)
        totals: Counter[str] = Counter()
        kinds: dict[str, Counter[str]] = defaultdict(Counter)
        channels: Counter[str] = Counter()
        languages: Counter[str] = Counter()
        groups: Counter[str] = Counter()
        participants = 0
        budgets: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        spent: Counter[str] = Counter()
        per_agency: dict[str, Counter[str]] = defaultdict(Counter)
        per_agency_spent: Counter[str] = Counter()
        appendix: list[AppendixRow] = []
        plans: list[AppendixRow] = []
        for record_type, source_id, owner, kind, day, data in rows:
            data = data if isinstance(data, dict) else {}
            totals[record_type] += 1
            counted_for = self._successors(owner)
            cost = data.get("cost_vnd") if record_type != "budgets" else data.get("amount_vnd")
            cost = cost if isinstance(cost, int) else None
            row = AppendixRow(record_type, source_id, owner, ", ".join(counted_for),
                              str(data.get("title", "")), kind, day, cost)
            appendix.append(row)
            for current in counted_for:
                per_agency[current][record_type] += 1
            if kind is not None:
                kinds[record_type][kind] += 1
            if record_type == "products":
                channels.update(set(data.get("channels") or ()))
                languages.update(set(data.get("languages") or ()))
            elif record_type == "training-courses":
                by_group = data.get("participants_by_group")
                by_group = by_group if isinstance(by_group, dict) else {}
                total = data.get("participants_total")
                participants += (total if isinstance(total, int)
                                 else sum(_int(n) for n in by_group.values()))
                for code, n in by_group.items():
                    groups[code] += _int(n)
            elif record_type == "budgets":
                source = str(data.get("funding_source") or "")
                budgets[source][str(data.get("status") or "estimate")] += _int(
                    data.get("amount_vnd"))
            elif record_type == "plans":
                plans.append(row)
            if record_type in ("products", "training-courses", "events") and cost:
                spent[record_type] += cost
                for current in counted_for:
                    per_agency_spent[current] += cost
        funding = labels.get("funding_source", {})
        budget_rows = [
            BudgetRow(code, funding.get(code, code or "Chưa ghi nguồn"), s["estimate"],
                      s["approved"], s["settled"])
            for code, s in sorted(budgets.items())]
        by_agency = []
        if scope == "review":
            by_agency = [
                AgencyRow(code, self._name(code), dict(per_agency[code]),
                          per_agency_spent[code])
                for code in sorted(per_agency, key=lambda c: (len(c) > 2, c))]
        return ReportData(
            scope=scope, agency_code=agency,
            agency_name=self._name(agency) if agency else "Toàn quốc",
            year_from=year_from, year_to=year_to, as_of=self.today,
            totals={t: totals[t] for t in RECORD_TYPES},
            products_by_kind=_counts(kinds["products"], labels.get("product_kind", {})),
            dissemination=_counts(channels, labels.get("channel", {})),
            product_languages=_counts(languages, labels.get("language", {})),
            training_courses=totals["training-courses"], training_participants=participants,
            training_by_group=_counts(groups, labels.get("target_group", {})),
            events_by_kind=_counts(kinds["events"], labels.get("event_kind", {})),
            awards_by_kind=_counts(kinds["awards"], labels.get("award_kind", {})),
            budgets=budget_rows, spent_vnd=sum(spent.values()), spent_by_type=dict(spent),
            targets=await self._targets(agency, year_from, year_to),
            plans=plans, by_agency=by_agency, appendix=appendix,
        )
