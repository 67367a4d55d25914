"""SIGKILL of the hub while clients push batches: 30 batches of 500 products, each with its
own Idempotency-Key, pushed by 3 concurrent clients that retry with the SAME key on any
connection error or 5xx. The hub is killed twice at random moments while batches are in
flight and restarted on the same port. Afterwards: exactly 15,000 records, none duplicated,
every batch answered with a valid summary of its 500 new records, and the change feed holds
exactly one upsert (version 1) per record."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REQUIRE_PG, _create_pg_database, _drop_pg_database
from tests.faults import (
    HubProcess,
    all_changes,
    batch_body,
    db_scalars,
    headers,
    prepare_database,
)

CLIENTS = 3
BATCHES_PER_CLIENT = 10
BATCH_SIZE = 500
TOTAL = CLIENTS * BATCHES_PER_CLIENT * BATCH_SIZE  # 15,000
KILLS = 2
DEADLINE_S = 120


@dataclass
class Run:
    in_flight: int = 0
    done: int = 0
    answers: dict[str, httpx.Response] = field(default_factory=dict)
    attempts: int = 0
    retried_errors: list[str] = field(default_factory=list)
    kills: list[float] = field(default_factory=list)


async def _push(client: httpx.AsyncClient, run: Run, key: str, body: bytes,
                deadline: float) -> None:
    while True:
        assert time.monotonic() < deadline, f"batch {key} not accepted before the deadline"
        run.in_flight += 1
        run.attempts += 1
        try:
            response = await client.post("/v1/products:batch", content=body,
                                         headers=headers(**{"Idempotency-Key": key}))
        except httpx.TransportError as exc:
            run.retried_errors.append(type(exc).__name__)
            await asyncio.sleep(0.05)
            continue
        finally:
            run.in_flight -= 1
        if response.status_code >= 500:
            run.retried_errors.append(str(response.status_code))
            await asyncio.sleep(0.05)
            continue
        run.answers[key] = response
        run.done += 1
        return


async def _client(base_url: str, run: Run, client_no: int, deadline: float) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for b in range(BATCHES_PER_CLIENT):
            start = (client_no * BATCHES_PER_CLIENT + b) * BATCH_SIZE
            await _push(client, run, f"fault-c{client_no}-b{b}",
                        batch_body("KILL", start, BATCH_SIZE), deadline)


async def _killer(hub: HubProcess, run: Run, rng: random.Random, deadline: float) -> None:
    total = CLIENTS * BATCHES_PER_CLIENT
    while len(run.kills) < KILLS and run.done < total and time.monotonic() < deadline:
        await asyncio.sleep(rng.uniform(0.1, 0.6))
        # Only while a batch is on the wire: that is the moment that must lose nothing.
        waited = time.monotonic()
        while run.in_flight == 0 and run.done < total and time.monotonic() - waited < 5:
            await asyncio.sleep(0.005)
        if run.done >= total:
            return
        hub.kill()
        run.kills.append(time.monotonic())
        await asyncio.sleep(rng.uniform(0, 0.2))  # clients hit a closed port meanwhile
        await asyncio.to_thread(hub.start)


async def _scenario(hub: HubProcess, seed: int) -> Run:
    run = Run()
    rng = random.Random(seed)
    deadline = time.monotonic() + DEADLINE_S
    await asyncio.gather(
        *(_client(hub.base_url, run, c, deadline) for c in range(CLIENTS)),
        _killer(hub, run, rng, deadline),
    )
    return run


def _verify(backend: str, hub: HubProcess, database_url: str, run: Run, seed: int) -> None:
    where = (f"({backend}, seed {seed}; attempts: {run.attempts}, retried: "
             f"{len(run.retried_errors)}, kills: {len(run.kills)})")
    assert len(run.kills) >= 2, f"the pushes ended before 2 kills {where}"
    hub.wait("/readyz", 30)

    # Every batch's final answer: 200 and a summary of its 500 new records (a replay of the
    # stored first answer when the first attempt committed before the kill).
    assert len(run.answers) == CLIENTS * BATCHES_PER_CLIENT, where
    for key, response in run.answers.items():
        assert response.status_code == 200, (key, response.text, where)
        summary: dict[str, Any] = response.json()
        assert summary == {"status": "ok", "created": BATCH_SIZE, "updated": 0,
                           "unchanged": 0, "deleted": 0, "rejected": 0, "ignored": 0,
                           "dry_run": False, "rejections": []}, (key, where)

    with httpx.Client(base_url=hub.base_url, timeout=30) as client:
        changes = all_changes(client)
    assert len(changes) == TOTAL, where
    assert all(c["op"] == "upsert" and c["record"]["version"] == 1 for c in changes), where
    assert len({c["record"]["id"] for c in changes}) == TOTAL, where
    assert {c["record"]["source_id"] for c in changes} == {
        f"KILL-{i:06d}" for i in range(TOTAL)
    }, where
    seqs = [c["seq"] for c in changes]
    assert seqs == sorted(set(seqs)), where

    # Counted in the database: no duplicate row, one idempotency answer a batch.
    counts = db_scalars(
        database_url,
        "SELECT count(*) FROM records",
        "SELECT count(DISTINCT source_id) FROM records",
        "SELECT count(*) FROM record_changes",
        "SELECT count(*) FROM idempotency_keys",
        "SELECT max(seq) FROM record_changes",
        "SELECT last_seq FROM hub_locks WHERE name = 'change_feed'",
        "SELECT count(*) FROM records r JOIN record_changes c"
        " ON c.record_id = r.id AND c.version = r.version AND r.version = 1",
    )
    assert counts[:4] == [TOTAL, TOTAL, TOTAL, CLIENTS * BATCHES_PER_CLIENT], (counts, where)
    assert counts[4] == counts[5], f"hub_locks.last_seq lags the change feed {where}"
    assert counts[6] == TOTAL, f"records and their changes disagree {where}"


async def _all_scenarios(hubs: dict[str, HubProcess], seed: int) -> dict[str, Run]:
    await asyncio.gather(*(asyncio.to_thread(hub.start) for hub in hubs.values()))
    runs = await asyncio.gather(
        *(_scenario(hub, seed + n) for n, hub in enumerate(hubs.values()))
    )
    return dict(zip(hubs, runs, strict=True))


def test_sigkill_during_batch_pushes_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """SQLite and PostgreSQL side by side (one hub each, killed independently): the two
    runs overlap, which keeps this test within the time of one."""
    seed = int(os.environ.get("RIGHTSHUB_FAULT_SEED", random.randrange(1_000_000)))
    with contextlib.ExitStack() as stack:
        urls = {"sqlite": f"sqlite:///{tmp_path / 'hub.db'}"}
        pg = _create_pg_database()
        if pg is not None:
            stack.callback(_drop_pg_database, pg)
            urls["postgresql"] = pg
        elif REQUIRE_PG:
            pytest.fail("PostgreSQL is required (RIGHTSHUB_REQUIRE_POSTGRES=1) but unreachable")
        hubs: dict[str, HubProcess] = {}
        for backend, url in urls.items():
            prepare_database(url)
            (tmp_path / backend).mkdir()
            hubs[backend] = HubProcess(url, tmp_path / backend)
            stack.callback(hubs[backend].stop)
        runs = asyncio.run(_all_scenarios(hubs, seed))
        for backend, run in runs.items():
            _verify(backend, hubs[backend], urls[backend], run, seed)
    if pg is None:
        pytest.skip("PostgreSQL unreachable: only the SQLite half ran (and passed)")
