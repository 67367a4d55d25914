"""The ``archive.overdue`` event: the worker's periodic check announces each overdue
state-funded product once, and subscribers on real loopback HTTP servers receive it with the
changes they follow (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import connectors
from hub import Hub
from hub.archive._overdue import announce_overdue, vietnam_today
from tests.api._helpers import product
from tests.conftest import auth
from tests.delivery.conftest import HUB_ADMIN, Subscriber
from tests.integration import free_port
from tests.programme.test_archive_duty import _attach, _push

pytestmark = pytest.mark.anyio

TODAY = vietnam_today()


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


@pytest.fixture
async def subscribers() -> AsyncIterator[tuple[Subscriber, Subscriber]]:
    own, other = Subscriber(free_port()), Subscriber(free_port())
    await own.start()
    await other.start()
    try:
        yield own, other
    finally:
        for sub in (own, other):
            with contextlib.suppress(Exception):
                await sub.stop()


@pytest.fixture
async def duty_hub(hub: Hub) -> AsyncIterator[Hub]:
    """The suite's hub without announcements or subscriptions left from other tests."""
    tables = ("archive_overdue_notices", "delivery_dead_letters", "delivery_attempts",
              "subscriptions")

    async def clean() -> None:
        async with hub.db.transaction() as session:
            for table in tables:
                await session.execute(sa.text(f"DELETE FROM {table}"))

    await clean()
    try:
        yield hub
    finally:
        await clean()


async def _subscribe(hub: Hub, sub: Subscriber, agency: str, **options: Any) -> None:
    created = await connectors.create_subscription(
        hub, HUB_ADMIN, agency=agency, name=f"duty {agency}", endpoint_url=sub.url, **options)
    assert created.secret is not None
    sub.secret = created.secret


def _overdue(sub: Subscriber) -> list[dict[str, Any]]:
    return [e for e in sub.events() if e.get("type") == "archive.overdue"]


async def _tick(hub: Hub) -> None:
    """One tick of a fresh worker: its archive-duty check is due at once."""
    await connectors.Worker(hub, worker_id="duty-test").run_once()


async def test_each_overdue_product_announced_once(
    client: httpx.AsyncClient, duty_hub: Hub, subscribers: tuple[Subscriber, Subscriber]
) -> None:
    hub = duty_hub
    own, other = subscribers
    state = {"funding_source": "state_budget"}
    await _push(client, "g16", [
        product("od1", published_on=ago(200), **state),  # no file: overdue
        product("dep", published_on=ago(300), **state),  # deposited in time
        product("lat", published_on=ago(300), **state),  # deposited late: not overdue now
        product("spo", published_on=ago(300), funding_source="sponsorship"),  # no duty
        product("new", published_on=ago(10), **state),  # within the period
        product("prv", published_on=ago(150), visibility="private", **state),  # overdue
    ])
    await _attach(hub, "dep", TODAY - timedelta(days=250))
    await _attach(hub, "lat", TODAY - timedelta(days=100))
    await _subscribe(hub, own, "G16")
    await _subscribe(hub, other, "G15", record_types=["products"])

    await _tick(hub)
    announced = _overdue(own)
    assert [e["record"]["source_id"] for e in announced] == ["od1", "prv"]
    first = announced[0]
    assert first["op"] == "overdue" and first["event_id"] == f"evt_{first['seq']}"
    assert first["record"]["owner_agency"] == "G16" and first["record"]["type"] == "products"
    assert first["archive"]["released_on"] == ago(200)
    assert first["archive"]["due_on"] == ago(110)
    assert first["archive"]["deposit_days"] == 90
    assert first["archive"]["funding_source"] == "state_budget"
    assert len(own.events()) == 2  # nothing else happened
    # Another agency hears of the shared product only, never of the private one.
    assert [e["record"]["source_id"] for e in _overdue(other)] == ["od1"]

    # The next checks (another worker, or the function itself) announce nothing again.
    await _tick(hub)
    assert await announce_overdue(hub, today=TODAY) == 0
    await _tick(hub)
    assert len(_overdue(own)) == 2 and len(_overdue(other)) == 1

    # A product that falls due later is announced then, after the changes before it.
    await _push(client, "g16", [product("spo", published_on=ago(300),
                                        funding_source="state_budget")])
    await _tick(hub)
    tail = own.events()[2:]
    assert [(e["op"], e.get("type"), e["record"]["source_id"]) for e in tail] == [
        ("upsert", None, "spo"), ("overdue", "archive.overdue", "spo")]
    assert tail[0]["seq"] < tail[1]["seq"]
    assert len({e["event_id"] for e in own.events()}) == len(own.events())
    # The change feed itself carries record changes only.
    feed = (await client.get("/v1/changes", params={"after": 0, "limit": 500},
                             headers=auth("g16"))).json()
    assert {c["op"] for c in feed["changes"]} == {"upsert"}


async def test_overdue_events_follow_filters_and_replays(
    client: httpx.AsyncClient, duty_hub: Hub, subscribers: tuple[Subscriber, Subscriber]
) -> None:
    hub = duty_hub
    own, other = subscribers
    await _push(client, "g16", [
        product("od2", published_on=ago(400), funding_source="state_budget"),
    ])
    # A subscription to another type, and one that replays from the beginning.
    await _subscribe(hub, own, "G16", record_types=["events"])
    await _subscribe(hub, other, "G16", deliver_from="beginning")
    assert await announce_overdue(hub, today=TODAY) == 1
    await connectors.deliver_pending(hub)
    assert own.events() == []
    ops = [(e["op"], e["record"]["source_id"]) for e in other.events()]
    assert ops == [("upsert", "od2"), ("overdue", "od2")]
