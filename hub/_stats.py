"""Aggregates for dashboards: record counts by type, kind, agency, theme, language and month,
under exactly the visibility and filters of a list (``hub._query.filter_conditions``), so a
count never shows what the same caller could not list.

Each dimension is one ``GROUP BY`` over indexed columns or the facet table; nothing is read
row by row. Counts by agency roll former agencies up to the agencies in force today (a former
province's records count for its successor; a record of an agency whose functions went to
several successors counts for each of them, as a filter on each would list it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hub._principal import Principal
from hub._query import RecordFilter, _search, filter_conditions
from hub._registry import AgencyGraph
from hub._tables import Record, RecordFacet

Dimension = Literal["type", "kind", "agency", "theme", "language", "month"]
DIMENSIONS: tuple[Dimension, ...] = ("type", "kind", "agency", "theme", "language", "month")
_FACETS = {"theme": "theme", "language": "language"}


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    count: int


def _conditions(
    principal: Principal, graph: AgencyGraph, record_type: str | None, flt: RecordFilter
) -> list[sa.ColumnElement[bool]]:
    conditions = filter_conditions(principal, graph, record_type, flt)
    if flt.q is not None:
        words, _tiers = _search(flt.q)
        conditions.extend(words)
    return conditions


async def count_records(
    session: AsyncSession,
    principal: Principal,
    graph: AgencyGraph,
    record_type: str | None,
    flt: RecordFilter,
) -> int:
    """How many records the caller would list with these filters."""
    stmt = sa.select(sa.func.count()).select_from(Record).where(
        *_conditions(principal, graph, record_type, flt)
    )
    return int((await session.execute(stmt)).scalar_one())


def _month(dialect: str) -> sa.ColumnElement[str]:
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m", Record.primary_date)
    return sa.func.to_char(Record.primary_date, "YYYY-MM")


async def count_by(
    session: AsyncSession,
    principal: Principal,
    graph: AgencyGraph,
    record_type: str | None,
    flt: RecordFilter,
    dimension: Dimension,
    *,
    today: date | None = None,
) -> list[Bucket]:
    """Counts by one dimension, largest first (months in calendar order). Records without a
    value (no kind, no date) are left out; ``theme`` and ``language`` count a record once
    per code it carries."""
    conditions = _conditions(principal, graph, record_type, flt)
    key: Any  # a column or a SQL expression of the grouping
    stmt: Any
    if dimension in _FACETS:
        key = RecordFacet.code
        stmt = (
            sa.select(key, sa.func.count())
            .select_from(Record)
            .join(RecordFacet, RecordFacet.record_id == Record.id)
            .where(RecordFacet.facet == _FACETS[dimension], *conditions)
        )
    else:
        dialect = session.get_bind().dialect.name
        key = {
            "type": Record.record_type,
            "kind": Record.kind,
            "agency": Record.owner_agency,
            "month": _month(dialect),
        }[dimension]
        stmt = sa.select(key, sa.func.count()).select_from(Record).where(*conditions)
    rows = (await session.execute(stmt.group_by(key))).tuples()
    counts: Counter[str] = Counter()
    if dimension == "agency":
        day = today or date.today()
        for owner, n in rows:
            assert owner is not None
            for current in graph.current_successors(owner, day) or {owner}:
                counts[current] += n
    else:
        for value, n in rows:
            if value is not None:
                counts[value] += n
    if dimension == "month":
        return [Bucket(k, counts[k]) for k in sorted(counts)]
    return [Bucket(k, n) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
