"""PostgreSQL stopped and started again under a light read + write load, the hub left running.

While the database is down, /readyz answers 503 within a few seconds (never hangs) and client
requests get 503 problem details with Retry-After, never a 500; once PostgreSQL is back, the
hub recovers by itself (/readyz 200, writes accepted) and every write acknowledged before the
outage is still there. Other suites share this PostgreSQL server: the outage is kept short
(stopped only until the hub has been seen answering 503) and PostgreSQL is always started
again, even when the test fails.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.faults import (
    PG_CLUSTER,
    PROBLEM_JSON,
    HubProcess,
    assert_problem,
    batch_body,
    db_scalars,
    headers,
    pg_database,
    prepare_database,
    wait_for_postgres,
)

BATCH = 20
OUTAGE_MAX_S = 4  # PostgreSQL stays down at most this long
RECOVERY_S = 30


def _pg_ctl(action: str) -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *PG_CLUSTER, action],
                   check=True, capture_output=True, timeout=60)


def _pg_is_up() -> bool:
    status = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *PG_CLUSTER,
                             "status"], capture_output=True, timeout=30, check=False)
    return status.returncode == 0


@dataclass
class Load:
    stop: bool = False
    down: bool = False  # PostgreSQL is stopped
    acked_before: set[int] = field(default_factory=set)  # answered 200 before the stop
    acked: set[int] = field(default_factory=set)
    statuses: list[int] = field(default_factory=list)
    outage_problems: list[httpx.Response] = field(default_factory=list)
    ready: list[tuple[float, bool, int, float]] = field(default_factory=list)


async def _writer(client: httpx.AsyncClient, load: Load) -> None:
    batch = 0
    deadline = time.monotonic() + 90
    while not load.stop and time.monotonic() < deadline:
        body = batch_body(f"PGR-{batch:04d}", 0, BATCH)
        key = f"pg-restart-{batch}"
        while time.monotonic() < deadline:  # the same batch, the same key, until accepted
            down = load.down
            try:
                response = await client.post("/v1/products:batch", content=body,
                                             headers=headers(**{"Idempotency-Key": key}))
            except httpx.TransportError:
                await asyncio.sleep(0.05)
                continue
            load.statuses.append(response.status_code)
            if response.status_code == 200:
                load.acked.add(batch)
                break
            if response.status_code == 503 and down:
                load.outage_problems.append(response)
            if response.status_code != 503:
                return  # anything else fails the test below
            await asyncio.sleep(0.1)
        batch += 1
        await asyncio.sleep(0.02)


async def _reader(client: httpx.AsyncClient, load: Load) -> None:
    deadline = time.monotonic() + 90
    while not load.stop and time.monotonic() < deadline:
        down = load.down
        try:
            response = await client.get("/v1/products", params={"limit": 20},
                                        headers=headers())
        except httpx.TransportError:
            await asyncio.sleep(0.05)
            continue
        load.statuses.append(response.status_code)
        if response.status_code == 503 and down:
            load.outage_problems.append(response)
        await asyncio.sleep(0.03)


async def _readiness(client: httpx.AsyncClient, load: Load) -> None:
    deadline = time.monotonic() + 90
    while not load.stop and time.monotonic() < deadline:
        down = load.down
        started = time.monotonic()
        try:
            response = await client.get("/readyz", timeout=10)
            status = response.status_code
        except httpx.TransportError:
            status = 0
        load.ready.append((started, down, status, time.monotonic() - started))
        await asyncio.sleep(0.05)


async def _scenario(hub: HubProcess) -> Load:
    load = Load()
    async with httpx.AsyncClient(base_url=hub.base_url, timeout=15) as client:
        tasks = [asyncio.create_task(f(client, load))
                 for f in (_writer, _reader, _readiness)]
        try:
            await asyncio.sleep(1.0)  # some writes acknowledged before the outage
            assert load.acked, f"no write accepted before the outage: {load.statuses}"
            load.acked_before = set(load.acked)
            load.down = True
            await asyncio.to_thread(_pg_ctl, "stop")
            stopped = time.monotonic()
            # Down until the hub was seen answering 503 to clients and to /readyz.
            while time.monotonic() - stopped < OUTAGE_MAX_S and not (
                load.outage_problems and any(r[1] and r[2] == 503 for r in load.ready)
            ):
                await asyncio.sleep(0.05)
            await asyncio.to_thread(_pg_ctl, "start")
            load.down = False
            up = time.monotonic()
            while time.monotonic() - up < RECOVERY_S:
                recent = [r for r in load.ready if r[0] > up]
                if recent and recent[-1][2] == 200 and len(load.acked) > len(
                        load.acked_before) + 2:
                    break
                await asyncio.sleep(0.1)
        finally:
            load.down = False
            load.stop = True
            await asyncio.gather(*tasks, return_exceptions=True)
    return load


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("pg_ctlcluster not available: cannot restart PostgreSQL here")
    with pg_database() as url:
        prepare_database(url)
        yield url


def test_hub_recovers_by_itself_when_postgres_restarts(database_url: str,
                                                       tmp_path: Path) -> None:
    hub = HubProcess(database_url, tmp_path)
    try:
        hub.start()
        try:
            load = _scenario_run(hub)
        finally:
            if not _pg_is_up():
                _pg_ctl("start")
            wait_for_postgres(30)

        # /readyz: 503 while down, quickly; 200 again after, without restarting the hub.
        during = [r for r in load.ready if r[1]]
        assert during, "/readyz was not probed while PostgreSQL was down"
        assert any(status == 503 for _, _, status, _ in during), during
        assert all(status in (200, 503) for _, _, status, _ in load.ready), load.ready
        assert max(elapsed for *_, elapsed in load.ready) < 5.5, "readyz hung"
        assert load.ready[-1][2] == 200, load.ready[-5:]
        assert hub.process is not None and hub.process.poll() is None
        assert hub.starts == 1

        # Clients: 503 problem details (Retry-After) during the outage, never a 500.
        assert 500 not in load.statuses, hub.log()
        assert set(load.statuses) <= {200, 503}, set(load.statuses)
        assert load.outage_problems, "no request was answered while PostgreSQL was down"
        for response in load.outage_problems:
            body = assert_problem(response, 503)
            assert response.headers["content-type"].startswith(PROBLEM_JSON)
            assert int(response.headers["retry-after"]) > 0
            assert body["type"].endswith(":unavailable")

        # Writes: every batch acknowledged before the outage is there, and the load went on.
        assert len(load.acked) > len(load.acked_before)
        records, changes = db_scalars(database_url, "SELECT count(*) FROM records",
                                      "SELECT count(*) FROM record_changes")
        assert records == changes == len(load.acked) * BATCH
        with httpx.Client(base_url=hub.base_url, timeout=15) as client:
            for batch in sorted(load.acked_before)[:: max(1, len(load.acked_before) // 5)]:
                got = client.get(f"/v1/products/PGR-{batch:04d}-000000", headers=headers())
                assert got.status_code == 200, got.text
    finally:
        hub.stop()


def _scenario_run(hub: HubProcess) -> Load:
    return asyncio.run(_scenario(hub))
