"""Push to subscribers, end to end on SQLite and PostgreSQL: a real subscriber on loopback,
the real ingest pipeline, ``deliver_pending`` as the worker calls it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

import connectors
from hub import Hub
from hub.tables import Subscription
from tests.api._helpers import product
from tests.delivery.conftest import G15, G16, HUB_ADMIN, Subscriber, drain, hub_state

pytestmark = pytest.mark.anyio


async def subscribe(hub: Hub, subscriber: Subscriber, agency: str = "G15",
                    **options: Any) -> str:
    created = await connectors.create_subscription(
        hub, HUB_ADMIN, agency=agency, name="test", endpoint_url=subscriber.url, **options
    )
    if created.secret is not None:
        subscriber.secret = created.secret
    return created.subscription.id


async def test_every_change_arrives_signed_in_order(
    delivery_hub: Hub, subscriber: Subscriber
) -> None:
    hub = delivery_hub
    await subscribe(hub, subscriber)
    await hub.ingest.ingest(G16, "products", [product(f"P{i}") for i in range(5)])
    await hub.ingest.ingest(G16, "products", [product("P1", title="Sách mới")])
    await hub.ingest.ingest(G16, "products", [product("P2", visibility="private")])
    await hub.ingest.ingest(G16, "products", [{"source_id": "P3", "_op": "delete"}])
    await hub.ingest.ingest(G16, "products", [product("SECRET", visibility="private")])
    await hub.ingest.ingest(G15, "products", [product("OWN", visibility="private")])
    await drain(hub)

    assert subscriber.refused == 0
    events = subscriber.events()
    ops = [(e["record"]["source_id"], e["op"]) for e in events]
    assert ("SECRET", "upsert") not in ops  # another agency's private record never leaves
    assert ("OWN", "upsert") in ops  # its own private record does
    assert ("P2", "withdraw") in ops and ("P3", "delete") in ops
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(e["event_id"] == connectors.event_id(e["seq"]) for e in events)
    assert subscriber.state() == await hub_state(hub, "G15")


def versions_in_order(subscriber: Subscriber) -> bool:
    """Per record, the first arrival of each event has a higher version than the last."""
    seen: set[str] = set()
    last: dict[str, int] = {}
    for event in subscriber.events():
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        record = event["record"]
        if record["version"] <= last.get(record["id"], 0):
            return False
        last[record["id"]] = record["version"]
    return True


async def test_subscriber_down_for_a_while_receives_every_change(
    database_url: str, delivery_hub: Hub, subscriber: Subscriber
) -> None:
    """The issue's "done when": every change once the subscriber is back; de-duplicating by
    event id gives exactly the hub's state (what the agency may read)."""
    from tests.conftest import make_settings

    hub = Hub(make_settings(database_url, delivery_backoff_base_seconds=0.02,
                            delivery_backoff_max_seconds=0.05, delivery_max_attempts=100,
                            delivery_batch_size=7))
    try:
        await subscribe(hub, subscriber)
        await hub.ingest.ingest(G16, "products", [product(f"D{i}") for i in range(10)])
        await drain(hub)
        assert len(subscriber.events()) == 10

        await subscriber.stop()  # down for a while; the hub keeps changing and trying
        attempted = 0
        for round_ in range(3):
            await hub.ingest.ingest(G16, "products", [
                product(f"D{i}", title=f"Sách D{i} bản {round_}") for i in range(0, 10, 2)
            ] + [product(f"N{round_}-{i}") for i in range(3)])
            for _ in range(3):
                attempted += await connectors.deliver_pending(hub)
                await asyncio.sleep(0.03)
        assert attempted > 0
        await hub.ingest.ingest(G16, "products", [product("D1", visibility="private")])
        await hub.ingest.ingest(G16, "products", [{"source_id": "D3", "_op": "delete"}])
        await hub.ingest.ingest(G15, "products", [product("G15-OWN")])
        async with hub.db.session() as session:
            row = (await session.scalars(sa.select(Subscription))).one()
        assert row.attempts >= 1 and row.last_error  # failures recorded, position held
        assert len(subscriber.events()) == 10

        subscriber.mode = "flaky"  # back, but the first answer is lost: a duplicate follows
        await subscriber.start()
        await drain(hub, until=lambda: len(subscriber.requests) >= 1)
        subscriber.mode = "ok"
        expected = await hub_state(hub, "G15")
        await drain(hub, until=lambda: subscriber.state() == expected)

        assert subscriber.state() == expected
        ids = [e["event_id"] for e in subscriber.events()]
        assert len(ids) > len(set(ids))  # the flaky answer made the hub send some again
        assert versions_in_order(subscriber)
        info = await connectors.get_subscription(hub, HUB_ADMIN, row.id)
        assert info.attempts == 0 and info.dead_letters == 0
    finally:
        await hub.close()


async def test_failing_subscriber_blocks_nobody_and_dead_letters_redeliver(
    delivery_hub: Hub, subscriber: Subscriber
) -> None:
    from tests.delivery.conftest import Subscriber as Sub
    from tests.integration import free_port

    hub = delivery_hub  # three attempts, then dead letters
    broken = Sub(free_port(), mode="fail")
    await broken.start()
    try:
        healthy_id = await subscribe(hub, subscriber)
        broken_id = await subscribe(hub, broken)
        await hub.ingest.ingest(G16, "products", [product(f"F{i}") for i in range(4)])
        await hub.ingest.ingest(G16, "products", [product("F0", title="Sách F0 mới")])

        expected = await hub_state(hub, "G15")
        await drain(hub, until=lambda: subscriber.state() == expected, rounds=400)
        assert subscriber.state() == expected
        for _ in range(400):  # the broken one exhausts its attempts
            if (await connectors.get_subscription(hub, HUB_ADMIN, broken_id)).dead_letters == 5:
                break
            await connectors.deliver_pending(hub)
        dead, _ = await connectors.list_dead_letters(hub, HUB_ADMIN, broken_id)
        assert [d.status for d in dead] == ["dead"] * 5
        assert all(d.attempts == 3 for d in dead)
        deliveries, _ = await connectors.list_deliveries(hub, HUB_ADMIN, broken_id, limit=500)
        assert {d.outcome for d in deliveries} == {"failed", "dead_lettered"}
        assert all(d.status_code == 500 for d in deliveries)
        assert broken.events() == []
        healthy = await connectors.get_subscription(hub, HUB_ADMIN, healthy_id)
        assert healthy.dead_letters == 0 and healthy.delivered_events == 5

        broken.mode = "ok"
        assert await connectors.redeliver_dead_letters(hub, HUB_ADMIN, broken_id) == 5
        await drain(hub, until=lambda: len(broken.events()) == 5)
        assert broken.state() == expected
        assert [e["event_id"] for e in broken.events()] == [d.event_id for d in dead]
        dead, _ = await connectors.list_dead_letters(hub, HUB_ADMIN, broken_id)
        assert {d.status for d in dead} == {"redelivered"}
        assert await connectors.deliver_pending(hub) == 0
    finally:
        await broken.stop()


async def test_filters_and_theme_changes(delivery_hub: Hub, subscriber: Subscriber) -> None:
    hub = delivery_hub
    themes = {"rights_children"}
    await subscribe(hub, subscriber, record_types=["products"], themes=sorted(themes),
                    owner_agencies=["G16"])
    await hub.ingest.ingest(G16, "products", [
        product("T1", themes=["rights_children"]), product("T2"),
        product("T3", themes=["rights_children", "rights_women"]),
    ])
    await hub.ingest.ingest(G15, "products", [product("T4", themes=["rights_children"])])
    await hub.ingest.ingest(G16, "events", [{
        "source_id": "E1", "kind": "press_briefing", "title": "Họp báo",
        "start_date": "2025-06-01", "themes": ["rights_children"]}])
    # T1 leaves the filter (a withdraw), T2 enters it (an upsert).
    await hub.ingest.ingest(G16, "products", [product("T1"),
                                              product("T2", themes=["rights_children"])])
    await drain(hub)

    got = [(e["record"]["source_id"], e["op"]) for e in subscriber.events()]
    assert got == [("T1", "upsert"), ("T3", "upsert"), ("T1", "withdraw"), ("T2", "upsert")]
    withdrawn = subscriber.events()[2]["record"]
    assert (withdrawn["data"], withdrawn["files"], withdrawn["content_hash"]) == ({}, [], "")
    assert subscriber.state() == await hub_state(hub, "G15", "products", themes, {"G16"})


async def test_oauth2_client_credentials_token_is_fetched_and_cached(
    delivery_hub: Hub, subscriber: Subscriber
) -> None:
    hub = delivery_hub
    subscriber.oauth_client = ("hub-push", "s" * 40)
    await subscribe(hub, subscriber, auth_kind="oauth2", token_url=subscriber.token_url,
                    oauth_client_id="hub-push", secret="s" * 40, oauth_scope="events:write")
    for i in range(3):
        await hub.ingest.ingest(G16, "products", [product(f"O{i}")])
        await drain(hub)
    assert len(subscriber.events()) == 3 and len(subscriber.requests) == 3
    assert len(subscriber.tokens) == 1 and subscriber.refused == 0
    assert connectors.SIGNATURE_HEADER.lower() not in subscriber.requests[0]["headers"]


async def test_a_dead_workers_lease_expires_and_another_delivers(
    database_url: str, delivery_hub: Hub, subscriber: Subscriber
) -> None:
    from connectors._delivery import _claim
    from tests.conftest import make_settings

    hub = Hub(make_settings(database_url, delivery_lease_seconds=1))
    try:
        await subscribe(hub, subscriber)
        await hub.ingest.ingest(G16, "products", [product("L1")])
        assert len(await _claim(hub, 5)) == 1  # claimed, then the worker "dies"
        assert await connectors.deliver_pending(hub) == 0  # leased: nobody else sends
        await drain(hub, until=lambda: len(subscriber.events()) == 1, rounds=300)
        assert [e["record"]["source_id"] for e in subscriber.events()] == ["L1"]
    finally:
        await hub.close()


async def test_a_hanging_subscriber_does_not_hold_up_the_others(
    database_url: str, delivery_hub: Hub, subscriber: Subscriber
) -> None:
    from tests.conftest import make_settings
    from tests.delivery.conftest import Subscriber as Sub
    from tests.integration import free_port

    hub = Hub(make_settings(database_url, delivery_wait_seconds=0.1))
    hanging = Sub(free_port(), delay=1.5)
    await hanging.start()
    try:
        await subscribe(hub, hanging)
        await subscribe(hub, subscriber)
        await hub.ingest.ingest(G16, "products", [product("H1")])
        await drain(hub, until=lambda: len(subscriber.events()) == 1, rounds=20)
        assert len(subscriber.events()) == 1 and hanging.requests == []
        await hub.ingest.ingest(G16, "products", [product("H2")])
        await drain(hub, until=lambda: len(subscriber.events()) == 2, rounds=20)
        assert hanging.requests == []  # still answering its first request
        await drain(hub, until=lambda: len(hanging.events()) == 2, rounds=100)
        assert [e["record"]["source_id"] for e in hanging.events()] == ["H1", "H2"]
    finally:
        await hanging.stop()
        await hub.close()


async def test_old_delivery_attempts_are_pruned(
    delivery_hub: Hub, subscriber: Subscriber
) -> None:
    from datetime import timedelta

    from hub.tables import DeliveryAttempt, utcnow

    hub = delivery_hub
    sub_id = await subscribe(hub, subscriber)
    async with hub.db.transaction() as session:
        for days in (40, 1):
            session.add(DeliveryAttempt(
                subscription_id=sub_id, at=utcnow() - timedelta(days=days), delivery_id="d",
                first_seq=1, last_seq=1, events=1, attempt=1, outcome="delivered",
                redelivery=False, duration_ms=1))
    await connectors.deliver_pending(hub)
    items, _ = await connectors.list_deliveries(hub, HUB_ADMIN, sub_id)
    assert len(items) == 1 and (utcnow() - items[0].at).days == 1
