"""The archive duty (guidance section 2b): a product paid for by the state budget must have a
file deposited in the archive within ``archive_deposit_days`` of its release.

Each such product has one status as of a day:

* ``on_time``: its first file was attached on or before the due date;
* ``late``: deposited, but after the due date;
* ``overdue``: no file yet and the due date has passed;
* ``not_due``: no file yet, still within the period;
* ``undated``: no release date, so no due date (counted apart, never guessed).

The release is ``published_on``; a product that gives only ``publication_year`` is taken as
released on 31 December of that year, the latest day it can have been, so the hub never
calls a product overdue earlier than it can be. The deposit is the first attachment of a
``main`` file (the archived copy, as in :func:`hub.archive._service.unarchived_state_funded`) while
the record still has one (a record whose main files were all detached has none); days are
Vietnam's (UTC+7). Agencies roll up to the agencies in force (a former province's products
count for its successor), as in :mod:`hub._programme`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import sqlalchemy as sa

from hub._errors import InvalidInput
from hub._files import VIETNAM
from hub._hub import Hub
from hub._principal import Principal
from hub._query import visible_to
from hub.tables import Record, RecordFile

Status = Literal["on_time", "late", "overdue", "not_due", "undated"]
STATUSES: tuple[Status, ...] = ("on_time", "late", "overdue", "not_due", "undated")


@dataclass(frozen=True, slots=True)
class DutyProduct:
    """One product under the duty and where it stands."""

    record_id: str
    source_id: str
    owner_agency: str
    agencies: tuple[str, ...]  # the agencies in force it counts for
    title: str
    kind: str | None
    funding_source: str
    released_on: date | None
    due_on: date | None
    deposited_on: date | None
    status: Status

    def days_overdue(self, today: date) -> int:
        return (today - self.due_on).days if self.status == "overdue" and self.due_on else 0


@dataclass(slots=True)
class ComplianceRow:
    """Counts of one agency (in force) and release year; ``agency`` None = every agency."""

    agency: str | None
    year: int | None
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    not_due: int = 0
    undated: int = 0

    @property
    def total(self) -> int:
        return self.on_time + self.late + self.overdue + self.not_due + self.undated

    @property
    def on_time_rate(self) -> float | None:
        """Share deposited in time of those whose period has ended (in time, late or
        overdue); None while none has."""
        settled = self.on_time + self.late + self.overdue
        return round(100.0 * self.on_time / settled, 1) if settled else None

    def add(self, status: Status) -> None:
        setattr(self, status, getattr(self, status) + 1)

    def as_dict(self) -> dict[str, object]:
        return {"agency": self.agency, "year": self.year, "on_time": self.on_time,
                "late": self.late, "overdue": self.overdue, "not_due": self.not_due,
                "undated": self.undated, "total": self.total,
                "on_time_rate": self.on_time_rate}


@dataclass(frozen=True, slots=True)
class Compliance:
    as_of: date
    deposit_days: int
    funding_sources: tuple[str, ...]
    rows: list[ComplianceRow]  # per agency and year, agencies then years in order
    trend: list[ComplianceRow]  # per year, every agency together (undated left out)
    totals: ComplianceRow
    products: list[DutyProduct]


def status_of(released_on: date | None, deposited_on: date | None, days: int,
              today: date) -> tuple[date | None, Status]:
    """(due date, status) of one product."""
    if released_on is None:
        return None, "undated"
    due = released_on + timedelta(days=days)
    if deposited_on is not None:
        return due, "on_time" if deposited_on <= due else "late"
    return due, "overdue" if today > due else "not_due"


def _vietnam_day(at: datetime | None) -> date | None:
    return at.astimezone(VIETNAM).date() if at is not None else None


async def duty_products(
    hub: Hub, *, agency: str | None = None, year_from: int | None = None,
    year_to: int | None = None, principal: Principal | None = None,
    today: date | None = None,
) -> list[DutyProduct]:
    """The products under the duty, filtered by agency (with the agencies it replaced) and by
    release year. ``principal`` limits them to what it may read."""
    today = today or date.today()
    if year_from is not None and year_to is not None and year_from > year_to:
        raise InvalidInput("Năm bắt đầu (from) không được sau năm kết thúc (to).",
                           "The first year (from) must not be after the last (to).")
    graph = await hub.catalog.agencies()
    if agency is not None and agency not in graph.agencies:
        raise InvalidInput(f"Không có cơ quan mã {agency} trong danh mục.",
                           f"No agency with code {agency} in the registry.")
    sources = tuple(hub.settings.archive_duty_funding_sources)
    days = hub.settings.archive_deposit_days
    funding = Record.data["funding_source"].as_string()
    published_on = Record.data["published_on"].as_string()
    attached = (
        sa.select(RecordFile.record_id.label("record_id"),
                  sa.func.min(RecordFile.attached_at).label("first_at"))
        .where(RecordFile.role == "main")
        .group_by(RecordFile.record_id)
        .having(sa.func.sum(sa.case((RecordFile.detached_seq.is_(None), 1), else_=0)) > 0)
        .subquery()
    )
    conditions: list[sa.ColumnElement[bool]] = [
        Record.record_type == "products", Record.deleted.is_(False), funding.in_(sources)]
    if agency is not None:
        conditions.append(Record.owner_agency.in_(sorted(graph.rolled_up(agency))))
    if principal is not None:
        conditions.append(visible_to(principal, graph))
    stmt = (
        sa.select(Record.id, Record.source_id, Record.owner_agency, Record.title, Record.kind,
                  funding, published_on, Record.primary_date, attached.c.first_at)
        .outerjoin(attached, attached.c.record_id == Record.id)
        .where(*conditions)
        .order_by(Record.owner_agency, Record.primary_date, Record.source_id)
    )
    found: list[DutyProduct] = []
    async with hub.db.session() as session:
        rows = (await session.execute(stmt)).all()
    for record_id, source_id, owner, title, kind, source, exact, primary, first_at in rows:
        released: date | None = None
        if primary is not None:
            # Only a year given: the primary date is its 1 January; release by 31 December.
            released = primary if exact else date(primary.year, 12, 31)
        year = released.year if released else None
        if year is not None and ((year_from is not None and year < year_from)
                                 or (year_to is not None and year > year_to)):
            continue
        if year is None and (year_from is not None or year_to is not None):
            continue
        deposited = _vietnam_day(first_at)
        due, status = status_of(released, deposited, days, today)
        current = tuple(sorted(graph.current_successors(owner, today) or {owner}))
        found.append(DutyProduct(record_id, source_id, owner, current, title, kind, source,
                                 released, due, deposited, status))
    return found


async def archive_compliance(
    hub: Hub, *, agency: str | None = None, year_from: int | None = None,
    year_to: int | None = None, principal: Principal | None = None,
    today: date | None = None,
) -> Compliance:
    """Compliance per agency in force and release year, the trend over years, the totals."""
    today = today or date.today()
    products = await duty_products(hub, agency=agency, year_from=year_from, year_to=year_to,
                                   principal=principal, today=today)
    cells: dict[tuple[str, int | None], ComplianceRow] = {}
    years: dict[int, ComplianceRow] = {}
    totals = ComplianceRow(agency, None)
    for p in products:
        year = p.released_on.year if p.released_on else None
        for code in p.agencies:
            cells.setdefault((code, year), ComplianceRow(code, year)).add(p.status)
        if year is not None:
            years.setdefault(year, ComplianceRow(None, year)).add(p.status)
        totals.add(p.status)
    rows = [cells[k] for k in sorted(cells, key=lambda k: (k[0], k[1] is None, k[1] or 0))]
    trend = [years[y] for y in sorted(years)]
    return Compliance(today, hub.settings.archive_deposit_days,
                      tuple(hub.settings.archive_duty_funding_sources), rows, trend, totals,
                      products)

