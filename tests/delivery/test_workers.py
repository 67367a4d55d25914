"""Several workers on PostgreSQL share subscriptions through ``FOR UPDATE SKIP LOCKED``:
two deliverers (two hubs, two connection pools, as two processes would have) run at once
against slow subscribers, and no event is ever delivered twice."""

from __future__ import annotations

import asyncio

import pytest

import connectors
from hub import Hub
from tests.api._helpers import product
from tests.conftest import make_settings
from tests.delivery.conftest import G16, HUB_ADMIN, Subscriber
from tests.integration import free_port

pytestmark = pytest.mark.anyio


async def test_two_deliverers_never_send_an_event_twice(
    database_url: str, backend: str, delivery_hub: Hub
) -> None:
    if backend != "postgresql":
        pytest.skip("several workers need PostgreSQL (SQLite: one process)")
    subscribers = [Subscriber(free_port(), delay=0.02) for _ in range(4)]
    workers = [Hub(make_settings(database_url, delivery_concurrency=1, delivery_batch_size=5))
               for _ in range(2)]
    try:
        for sub in subscribers:
            await sub.start()
            created = await connectors.create_subscription(
                delivery_hub, HUB_ADMIN, agency="G15", name="w", endpoint_url=sub.url)
            sub.secret = created.secret
        for i in range(6):
            await delivery_hub.ingest.ingest(G16, "products",
                                             [product(f"W{i}-{j}") for j in range(5)])
        done = [0, 0]

        async def work(index: int) -> None:
            for _ in range(500):
                if all(len(s.events()) >= 30 for s in subscribers):
                    return
                done[index] += await connectors.deliver_pending(workers[index])
                await asyncio.sleep(0.005)

        await asyncio.gather(work(0), work(1))
        for sub in subscribers:
            ids = [e["event_id"] for e in sub.events()]
            assert len(ids) == 30 and len(set(ids)) == 30, "an event was delivered twice"
        assert done[0] > 0 and done[1] > 0, f"one worker did everything: {done}"
        assert sum(done) == 120
    finally:
        for sub in subscribers:
            await sub.stop()
        for hub in workers:
            await hub.close()


async def test_worker_drains_a_backlog_without_waiting_for_the_next_poll(
    delivery_hub: Hub, subscriber: Subscriber
) -> None:
    from connectors._worker import DELIVERY_BATCH, Worker

    created = await connectors.create_subscription(
        delivery_hub, HUB_ADMIN, agency="G15", name="backlog", endpoint_url=subscriber.url)
    subscriber.secret = created.secret
    total = 2 * DELIVERY_BATCH + 50
    await delivery_hub.ingest.ingest(G16, "products", [product(f"B{i}") for i in range(total)])
    # A poll far longer than the test may take: only the backlog rule can deliver it all.
    worker = Worker(delivery_hub, poll_seconds=60)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        for _ in range(300):
            if len(subscriber.events()) >= total:
                break
            await asyncio.sleep(0.05)
        assert len({e["event_id"] for e in subscriber.events()}) == total
    finally:
        stop.set()
        await task
