"""Aggregates for dashboards: record counts by type, kind, agency, theme, language and month,
under exactly the visibility and filters of a list (``hub._query.filter_conditions``), so a
count never shows what the same caller could not list.

Each dimension is one ``GROUP BY`` over indexed columns or the facet table, and all those a
dashboard asks for are one ``UNION ALL`` statement (one snapshot); nothing is read row by
row. Counts by agency roll former agencies up to the agencies in force today (a former
province's records count for its successor; a record of an agency whose functions went to
several successors counts for each of them, as a filter on each would list it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hub._principal import Principal
from hub._query import RecordFilter, _search, filter_conditions
from hub._registry import AgencyGraph
from hub.tables import Record, RecordFacet

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


def _month(dialect: str) -> sa.ColumnElement[str]:
    if dialect == "sqlite":
        return sa.func.strftime("%Y-%m", Record.primary_date)
    return sa.func.to_char(Record.primary_date, "YYYY-MM")


def _grouped(dimension: Dimension, conditions: list[sa.ColumnElement[bool]],
             dialect: str) -> sa.Select[Any]:
    """(dimension, key, count) rows of one dimension."""
    key: Any  # a column or a SQL expression of the grouping
    if dimension in _FACETS:
        key = RecordFacet.code
        stmt = (
            sa.select(sa.literal(dimension), key, sa.func.count())
            .select_from(Record)
            .join(RecordFacet, RecordFacet.record_id == Record.id)
            .where(RecordFacet.facet == _FACETS[dimension], *conditions)
        )
    else:
        key = {
            "type": Record.record_type,
            "kind": Record.kind,
            "agency": Record.owner_agency,
            "month": _month(dialect),
        }[dimension]
        stmt = sa.select(sa.literal(dimension), key, sa.func.count()).select_from(
            Record).where(*conditions)
    return stmt.group_by(key)


def _buckets(dimension: Dimension, rows: list[tuple[Any, int]], graph: AgencyGraph,
             today: date | None) -> list[Bucket]:
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


async def dashboard_counts(
    session: AsyncSession,
    principal: Principal,
    graph: AgencyGraph,
    record_type: str | None,
    flt: RecordFilter,
    wanted: Collection[str],
    *,
    today: date | None = None,
) -> dict[str, int | list[Bucket]]:
    """How many records the caller would list with these filters (``"total"``) and the
    counts by each dimension in ``wanted``: largest first (months in calendar order), records
    without a value (no kind, no date) left out, ``theme`` and ``language`` counting a record
    once per code it carries. In one statement: a dashboard's figures come from one snapshot
    and agree with each other (the total is the sum of the kinds) even while records arrive;
    separate statements each saw their own moment."""
    conditions = _conditions(principal, graph, record_type, flt)
    dialect = session.get_bind().dialect.name
    parts: list[Any] = []
    if "total" in wanted:
        parts.append(sa.select(sa.literal("total"), sa.null(), sa.func.count())
                     .select_from(Record).where(*conditions))
    dimensions = [d for d in DIMENSIONS if d in wanted]
    parts += [_grouped(d, conditions, dialect) for d in dimensions]
    if not parts:
        return {}
    statement: Any = parts[0]
    if len(parts) > 1:
        statement = sa.union_all(*parts)
    rows: dict[str, list[tuple[Any, int]]] = {d: [] for d in dimensions}
    found: dict[str, int | list[Bucket]] = {"total": 0} if "total" in wanted else {}
    for name, key, n in await session.execute(statement):
        if name == "total":
            found["total"] = int(n)
        else:
            rows[name].append((key, int(n)))
    for dimension in dimensions:
        found[dimension] = _buckets(dimension, rows[dimension], graph, today)
    return found
