"""Propagation: a steady 100 changes/s pushed by one agency through
``POST /v1/products:batch`` on a running hub (PostgreSQL), delivered by a running
``rightshub worker`` to a subscriber on loopback: the delay from each change's commit to its
receipt, p50 and p99.

The delay is measured from the change's own timestamp (``record.updated_at`` of the event,
taken inside the write transaction just before it commits) to the moment the subscriber
received the request, on one machine's clock: it includes the commit, the worker's polling
interval, the delivery and the subscriber's signature check. Two runs: the worker polling
every second (the default) and every 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import time
from typing import Any

import httpx

from bench import _common as c

DB = "rightshub_bench_propagation"
RATE = 100  # changes per second
PER_REQUEST = 10  # records per batch request: 10 requests a second
SECONDS = int(os.environ.get("BENCH_PROPAGATION_SECONDS", "15"))
SECRET = "bench-subscriber-secret-0123456789abcdef"


async def _subscribe(url: str, endpoint: str) -> None:
    import connectors
    from hub import Hub, Principal, Settings

    hub = Hub(Settings(database_url=url, environment="development", outbound_allow=["127.0.0.0/8"]))
    admin = Principal("bench-admin", c.BENCH_AGENCY, frozenset({"admin", "admin:hub"}),
                      kind="admin", role="hub_admin")
    try:
        import sqlalchemy as sa

        async with hub.db.transaction() as session:
            await session.execute(sa.text("DELETE FROM subscriptions"))
        await connectors.create_subscription(hub, admin, agency="G15", name="bench",
                                             endpoint_url=endpoint, secret=SECRET)
    finally:
        await hub.close()


async def _push(base: str, run: int) -> int:
    """RATE changes a second for SECONDS, on a fixed schedule (a late request does not
    shift the ones after it)."""
    interval = PER_REQUEST / RATE
    sent = 0
    async with httpx.AsyncClient(base_url=base, headers=c.auth_headers(), timeout=30) as client:
        start = time.perf_counter()
        for tick in range(int(SECONDS / interval)):
            delay = start + tick * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            records = [{"source_id": f"PROP-{run}-{tick}-{i}", "kind": "book",
                        "title": f"Sách {tick}-{i}", "languages": ["vie"]}
                       for i in range(PER_REQUEST)]
            response = await client.post("/v1/products:batch", json={"records": records})
            response.raise_for_status()
            sent += response.json()["created"]
    return sent


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _worker(url: str, poll: float) -> subprocess.Popen[bytes]:
    env = c.hub_env(url, RIGHTSHUB_WORKER_POLL_SECONDS=str(poll))
    return subprocess.Popen([c.RIGHTSHUB, "worker"], env=env, cwd=c.ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _warm_up(base: str, subscriber: str, run: int) -> None:
    """One change delivered end to end before measuring: the worker has started."""
    httpx.post(f"{base}/v1/products:batch", headers=c.auth_headers(), json={"records": [
        {"source_id": f"WARM-{run}", "kind": "book", "title": "Khởi động",
         "languages": ["vie"]}]}).raise_for_status()
    deadline = time.monotonic() + 60
    while httpx.get(f"{subscriber}/stats").json()["unique"] < 1:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker delivered nothing within 60 s")
        time.sleep(0.1)
    httpx.post(f"{subscriber}/reset", content=SECRET).raise_for_status()


def _run(url: str, base: str, subscriber: str, poll: float, run: int) -> dict[str, Any]:
    httpx.post(f"{subscriber}/reset", content=SECRET).raise_for_status()
    asyncio.run(_subscribe(url, f"{subscriber}/events"))
    worker = _worker(url, poll)
    try:
        _warm_up(base, subscriber, run)
        sent = asyncio.run(_push(base, run))
        deadline = time.monotonic() + 30
        stats: dict[str, Any] = {}
        while time.monotonic() < deadline:
            stats = httpx.get(f"{subscriber}/stats").json()
            if stats["unique"] >= sent:
                break
            time.sleep(0.2)
    finally:
        _stop(worker)
    delays = stats["delays_ms"]
    return {"worker_poll_seconds": poll, "changes_pushed": sent, "received": stats["unique"],
            "duplicates": stats["events"] - stats["unique"], "refused": stats["refused"],
            "p50_ms": round(_percentile(delays, 50), 1) if delays else None,
            "p99_ms": round(_percentile(delays, 99), 1) if delays else None,
            "max_ms": round(max(delays), 1) if delays else None}


def main(args: argparse.Namespace) -> None:
    c.console.rule(f"propagation: {RATE} changes/s for {SECONDS} s through POST :batch, "
                   "delivered by rightshub worker to a subscriber on loopback (PostgreSQL)")
    url = c.recreate_pg_database(DB)
    rows = []
    try:
        c.fresh_hub_database(url)
        env = {"BENCH_SUBSCRIBER_SECRET": SECRET}
        with contextlib.ExitStack() as stack:
            subscriber, _ = stack.enter_context(c.asgi_server("bench._subscriber:app", env))
            base, _ = stack.enter_context(c.hub_server(url))
            for run, poll in enumerate((1.0, 0.1)):
                rows.append(_run(url, base, subscriber, poll, run))
                c.console.print(rows[-1])
    finally:
        c.drop_pg_database(DB)
    c.print_table("propagation: commit → subscriber receipt",
                  ["worker poll (s)", "pushed", "received", "p50 ms", "p99 ms", "max ms"],
                  [[r["worker_poll_seconds"], r["changes_pushed"], r["received"], r["p50_ms"],
                    r["p99_ms"], r["max_ms"]] for r in rows])
    c.write_results("propagation", {"rate_per_s": RATE, "records_per_request": PER_REQUEST,
                                    "seconds": SECONDS, "runs": rows})
