"""hub._driver runs the list pages' statements through asyncpg itself (issue 20): the rows it
returns are the rows SQLAlchemy returns for the same statement, for every kind of filter
the pages bind (codes, dates, timestamps, cursors, content projections, content as text),
and a statement it cannot run exactly goes through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest
import sqlalchemy as sa

from hub import Hub, Principal, RecordFilter
from hub._driver import fetch_rows
from hub._query import RECORDS, _plain_list
from tests.api._helpers import product, push

pytestmark = pytest.mark.anyio

FILTERS = [
    RecordFilter(),
    RecordFilter(kind="book", theme="rights_children", language="vie"),
    RecordFilter(agency="G16", channel="press", target_group="reporter"),
    RecordFilter(date_from=date(2024, 1, 1), date_to=date(2025, 12, 31)),
    RecordFilter(updated_since=datetime(2020, 1, 1, tzinfo=UTC), include_deleted=True),
]


async def test_driver_rows_equal_sqlalchemy_rows(hub: Hub, client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [
        product(f"DRV-{n}", kind="book" if n % 2 else "video", themes=["rights_children"],
                target_groups=["reporter"], channels=["press"],
                published_on=f"202{4 + n % 2}-0{1 + n % 9}-15",
                title=f"Quyền trẻ em {n}")
        for n in range(12)
    ])
    principal = Principal("c", "G16", frozenset({"records:read"}), kind="dev")
    graph = await hub.catalog.agencies()
    compared = 0
    async with hub.db.read() as connection:
        postgresql = connection.dialect.name == "postgresql"
        for flt in FILTERS:
            for after_cursor in (False, True):
                for content_keys, as_text, files in (
                    (None, False, False), (frozenset({"title", "kind"}), False, False),
                    (None, True, False), (None, True, postgresql),  # files: PostgreSQL's
                ):
                    stmt = _plain_list(principal, graph, "products", flt, after_cursor,
                                       content_keys, postgresql, as_text, files)
                    params = {"page_limit": 5, **({"last_seq": 10**9} if after_cursor else {})}
                    expected = [tuple(r) for r in await connection.execute(stmt, params)]
                    got = await fetch_rows(connection, stmt, params)
                    assert [tuple(r) for r in got] == expected, (flt, after_cursor)
                    assert [r.seq for r in got] == [r[12] for r in expected]
                    compared += len(expected)
        assert compared > 50
        # An expanding IN list is rendered at execution: it goes through SQLAlchemy.
        expanding = sa.select(RECORDS.source_id).where(
            RECORDS.source_id.in_(["DRV-1", "DRV-2"])).order_by(RECORDS.source_id)
        assert [r.source_id for r in await fetch_rows(connection, expanding, {})] == [
            "DRV-1", "DRV-2"]
