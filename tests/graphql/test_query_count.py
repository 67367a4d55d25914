"""DataLoaders per request: a page of records with their agencies and themes costs the same
number of SQL statements for 10 records as for 100 (counted on the engine)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event

from hub import Hub
from tests.api._helpers import product, push
from tests.graphql._helpers import data

pytestmark = pytest.mark.anyio

QUERY = """query($first: Int!) { products(first: $first) { nodes {
  id title agency { code name inForce } themeTerms { code labelVi } languageTerms { code }
} } }"""
THEMES = ["rights_children", "rights_women", "vn_policy_law", "achievements"]


async def _statements(client: httpx.AsyncClient, hub: Hub, first: int) -> int:
    await hub.catalog.agencies()  # the registry is cached per process, not read per request
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    # List pages run through asyncpg itself on PostgreSQL (hub._driver), beside SQLAlchemy:
    # its statements are counted by asyncpg's query logger on every connection checked out.
    def driver_logged(query: Any) -> None:
        if query.query.strip() != ";":  # the pool's liveness ping, not the request's
            seen.append(query.query)

    def checkout(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(driver_logged)

    def checkin(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.driver_connection.remove_query_logger(driver_logged)

    engine = hub.db.engine.sync_engine
    driver = engine.dialect.name == "postgresql"
    event.listen(engine, "before_cursor_execute", count)
    if driver:
        event.listen(engine.pool, "checkout", checkout)
        event.listen(engine.pool, "checkin", checkin)
    try:
        found = await data(client, QUERY, {"first": first})
    finally:
        event.remove(engine, "before_cursor_execute", count)
        if driver:
            event.remove(engine.pool, "checkout", checkout)
            event.remove(engine.pool, "checkin", checkin)
    nodes = found["products"]["nodes"]
    assert len(nodes) == first
    assert all(n["agency"]["name"] and n["themeTerms"] for n in nodes)
    return len(seen)


async def test_ten_and_a_hundred_records_cost_the_same_queries(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    for caller in ("g16", "g15", "hg"):
        await push(client, caller, "products", [
            product(f"{caller}-{i}", themes=[THEMES[i % 4], THEMES[(i + 1) % 4]])
            for i in range(40)
        ])
    ten = await _statements(client, hub, 10)
    hundred = await _statements(client, hub, 100)
    assert ten == hundred == 2  # the page, then every theme and language term in one batch


async def test_a_dashboard_is_one_statement(client: httpx.AsyncClient, hub: Hub) -> None:
    """All the groupings of one stats answer in one statement, so they come from one snapshot
    and agree while records arrive (separate statements each saw their own moment)."""
    await hub.catalog.agencies()
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(hub.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        found = await data(client, "{ stats(type: PRODUCTS) { total byKind { key count } "
                                   "byTheme { key } byAgency { key } byMonth { key } } }")
    finally:
        event.remove(hub.db.engine.sync_engine, "before_cursor_execute", count)
    assert found["stats"]["total"] == sum(b["count"] for b in found["stats"]["byKind"])
    assert len(seen) == 1, seen
