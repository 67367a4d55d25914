"""Delivery: events/s pushed to subscribers on loopback (PostgreSQL).

A backlog of change-log events is delivered to real subscribers (``bench._subscriber`` under
uvicorn, verifying every HMAC signature) by ``connectors.deliver_pending`` called in a loop,
as the worker does (up to 5,000 events a call), in this process: one subscription, then four
at once (sharing one deliverer), at the default batch size (100 events a request) and at 500.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from typing import Any

import httpx

from bench import _common as c

DB = "rightshub_bench_delivery"
EVENTS = int(os.environ.get("BENCH_DELIVERY_EVENTS", "5000"))
SECRET = "bench-subscriber-secret-0123456789abcdef"
ADMIN_SCOPES = frozenset({"admin", "admin:hub"})


async def _load(hub: Any, events: int) -> None:
    from hub import Principal

    writer = Principal(c.BENCH_CLIENT, c.BENCH_AGENCY,
                       frozenset({"records:read", "records:write"}))
    for start in range(0, events, 1000):
        await hub.ingest.ingest(writer, "products", [
            {"source_id": f"DLV-{i}", "kind": "book", "title": f"Sách quyền con người {i}",
             "languages": ["vie"], "themes": ["vn_policy_law"]}
            for i in range(start, min(events, start + 1000))
        ])


async def _run_case(url: str, subscribers: list[str], batch: int) -> dict[str, Any]:
    from hub import Hub

    hub = Hub(_settings(url, delivery_batch_size=batch))
    try:
        return await _deliver_all(hub, subscribers, batch)
    finally:
        await hub.close()


def _settings(url: str, **values: Any) -> Any:
    from hub import Settings

    return Settings(database_url=url, environment="development",
                    outbound_allow=["127.0.0.0/8"], log_level="warning",
                    delivery_concurrency=8, delivery_wait_seconds=120, **values)


async def _deliver_all(hub: Any, subscribers: list[str], batch: int) -> dict[str, Any]:
    import sqlalchemy as sa

    import connectors
    from hub import Principal

    admin = Principal("bench-admin", c.BENCH_AGENCY, ADMIN_SCOPES, kind="admin",
                      role="hub_admin")
    async with hub.db.transaction() as session:
        for table in ("delivery_dead_letters", "delivery_attempts", "subscriptions"):
            await session.execute(sa.text(f"DELETE FROM {table}"))
    async with httpx.AsyncClient() as client:
        for base in subscribers:
            await client.post(f"{base}/reset", content=SECRET)
    for base in subscribers:
        await connectors.create_subscription(
            hub, admin, agency="G15", name="bench", endpoint_url=f"{base}/events",
            secret=SECRET, deliver_from="beginning")
    started = time.perf_counter()
    async with connectors.http_client(hub) as http:
        sent = 0
        while True:
            done = await connectors.deliver_pending(hub, limit=5000, client=http)
            sent += done
            if done == 0:
                break
    elapsed = time.perf_counter() - started
    received = 0
    async with httpx.AsyncClient() as client:
        for base in subscribers:
            stats = (await client.get(f"{base}/stats")).json()
            assert stats["refused"] == 0 and stats["unique"] == EVENTS, stats
            received += stats["events"]
    return {"subscriptions": len(subscribers), "batch_size": batch, "events": received,
            "seconds": round(elapsed, 2), "events_per_s": round(received / elapsed)}


async def _measure(url: str, subscribers: list[str]) -> list[dict[str, Any]]:
    from hub import Hub

    hub = Hub(_settings(url))
    try:
        await _load(hub, EVENTS)
    finally:
        await hub.close()
    rows = []
    for count, batch in ((1, 100), (1, 500), (4, 100)):
        rows.append(await _run_case(url, subscribers[:count], batch))
        c.console.print(rows[-1])
    return rows


def main(args: argparse.Namespace) -> None:
    from gateway._logging import configure_logging

    configure_logging("warning", json=True)
    c.console.rule(f"delivery: {EVENTS:,} events to subscribers on loopback (PostgreSQL)")
    url = c.recreate_pg_database(DB)
    try:
        c.fresh_hub_database(url)
        env = {"BENCH_SUBSCRIBER_SECRET": SECRET}
        with contextlib.ExitStack() as stack:
            subscribers = [stack.enter_context(c.asgi_server("bench._subscriber:app", env))[0]
                           for _ in range(4)]
            rows = asyncio.run(_measure(url, subscribers))
    finally:
        c.drop_pg_database(DB)
    c.print_table("delivery (events/s, signed with HMAC, verified by the subscriber)",
                  ["subscriptions", "batch size", "events", "seconds", "events/s"],
                  [[r["subscriptions"], r["batch_size"], r["events"], r["seconds"],
                    r["events_per_s"]] for r in rows])
    c.write_results("delivery", {"events_per_subscription": EVENTS, "runs": rows})


