"""The change feed under concurrent writers: a consumer that follows ``GET /v1/changes`` while
six writers push overlapping batches never misses, repeats or reorders a change, and ends with
exactly the hub's final state (SQLite, PostgreSQL, and a 2-worker uvicorn on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gateway import create_app
from hub import Hub
from tests.conftest import CALLERS, auth, token
from tests.integration import child_env, free_port, running_server

pytestmark = pytest.mark.anyio

WRITE_SECONDS = 3.0
MIN_BATCHES = 8  # per writer, however slow the machine: the checks below rely on them
WRITERS = ["g16", "g16", "g15", "g15", "tq", "tq"]  # two writers per agency share its keys
POOL = 24  # source ids per agency
HOT = 4  # the first HOT ids of each pool are in every batch of that agency's writers
PAGE = 37  # a small, odd page size: many pages, boundaries everywhere

MakeClient = Callable[[], httpx.AsyncClient]


def source_id(i: int) -> str:
    return f"CF-{i:03d}"


def product(sid: str, title: str) -> dict[str, Any]:
    return {"source_id": sid, "kind": "book", "title": title, "languages": ["vie"],
            "themes": ["vn_policy_law"]}


@dataclass
class WriterStats:
    batches: int = 0
    changes: int = 0  # created + updated + deleted: each is one change in the feed
    updated: int = 0
    deleted: int = 0


async def writer(make_client: MakeClient, caller: str, number: int, deadline: float,
                 stats: WriterStats, in_flight: dict[str, int]) -> None:
    rng = random.Random(f"{caller}-{number}")
    async with make_client() as client:
        while time.monotonic() < deadline or stats.batches < MIN_BATCHES:
            keys = list(range(HOT)) + rng.sample(range(HOT, POOL), 6)
            rng.shuffle(keys)
            records: list[dict[str, Any]] = []
            for i in keys:
                if i >= HOT and rng.random() < 0.2:
                    records.append({"source_id": source_id(i), "_op": "delete"})
                else:
                    # A fresh title each time: a real change, so a new version.
                    title = f"Sách {caller} w{number} b{stats.batches} {rng.random():.9f}"
                    records.append(product(source_id(i), title))
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
            try:
                response = await client.post(
                    "/v1/products:batch", json={"records": records}, headers=auth(caller)
                )
            finally:
                in_flight["now"] -= 1
            assert response.status_code == 200, response.text
            summary = response.json()
            # A delete of a key nobody created yet is the only acceptable rejection.
            assert all(r["code"] == "not_found" for r in summary["rejections"]), summary
            stats.batches += 1
            stats.changes += summary["created"] + summary["updated"] + summary["deleted"]
            stats.updated += summary["updated"]
            stats.deleted += summary["deleted"]
            await asyncio.sleep(rng.random() * 0.01)


@dataclass
class Consumer:
    """What a consumer keeps: its state and cursor, persisted together after each page."""

    cursor: str = "0"
    records: dict[str, tuple[int, str, bool]] = field(default_factory=dict)
    seqs: list[int] = field(default_factory=list)
    tombstones: int = 0
    pages: int = 0
    restarts: int = 0

    def apply(self, page: dict[str, Any]) -> None:
        records = dict(self.records)
        for change in page["changes"]:
            record = change["record"]
            previous = records.get(record["id"])
            assert previous is None or record["version"] > previous[0], (change, previous)
            deleted = change["op"] == "delete"
            assert deleted == record["deleted"]
            if deleted:
                self.tombstones += 1
                assert record["data"] == {}
            else:
                assert change["op"] == "upsert" and record["data"]["title"]
            records[record["id"]] = (record["version"], record["content_hash"], deleted)
            self.seqs.append(change["seq"])
        if page["changes"]:
            assert int(page["next_cursor"]) >= page["changes"][-1]["seq"]
        assert int(page["next_cursor"]) >= int(self.cursor)
        self.records, self.cursor = records, page["next_cursor"]  # "one transaction"
        self.pages += 1


async def consume(make_client: MakeClient, state: Consumer, writers_done: asyncio.Event) -> None:
    """Follow the feed until the writers are done and a read made after that is empty.
    Every few pages the consumer "restarts": a new client, resuming from its stored cursor."""
    while True:
        async with make_client() as client:
            for _ in range(5):
                done_before_read = writers_done.is_set()
                response = await client.get(
                    "/v1/changes", params={"after": state.cursor, "limit": PAGE},
                    headers=auth("reader"),
                )
                assert response.status_code == 200, response.text
                page = response.json()
                state.apply(page)
                if not page["has_more"]:
                    if done_before_read:
                        return
                    await asyncio.sleep(0.005)
        state.restarts += 1


async def final_state(client: httpx.AsyncClient) -> dict[str, tuple[int, str, bool]]:
    found: dict[str, tuple[int, str, bool]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, "include_deleted": "true"}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/v1/products", params=params, headers=auth("reader"))
        assert response.status_code == 200, response.text
        page = response.json()
        for r in page["items"]:
            assert r["id"] not in found
            found[r["id"]] = (r["version"], r["content_hash"], r["deleted"])
        cursor = page["next_cursor"]
        if not cursor:
            return found


async def run_scenario(make_client: MakeClient) -> tuple[Consumer, list[WriterStats]]:
    async with make_client() as client:
        start = await client.get("/v1/changes", params={"after": "0", "limit": 1000},
                                 headers=auth("reader"))
        assert start.json()["changes"] == []  # the fixture emptied the tables
    deadline = time.monotonic() + WRITE_SECONDS
    stats = [WriterStats() for _ in WRITERS]
    state = Consumer()
    writers_done = asyncio.Event()
    in_flight = {"now": 0, "max": 0}
    consumer = asyncio.create_task(consume(make_client, state, writers_done))
    try:
        await asyncio.gather(*(
            writer(make_client, caller, number, deadline, stats[number], in_flight)
            for number, caller in enumerate(WRITERS)
        ))
        writers_done.set()
        await asyncio.wait_for(consumer, timeout=60)
    finally:
        consumer.cancel()

    assert state.seqs == sorted(state.seqs), "seq values went backwards"
    assert len(set(state.seqs)) == len(state.seqs), "a change was delivered twice"
    assert len(state.seqs) == sum(s.changes for s in stats), "changes missing from the feed"
    async with make_client() as client:
        expected = await final_state(client)
    assert state.records == expected
    # The scenario really exercised what it claims to.
    assert in_flight["max"] >= 3, "the writers never overlapped"
    assert sum(s.updated for s in stats) > 50 and sum(s.deleted for s in stats) > 5
    assert max(version for version, _, _ in expected.values()) >= 10
    assert state.tombstones > 5 and state.restarts >= 1
    return state, stats


async def assert_facets_follow_records(hub: Hub) -> None:
    """Each record has the facets of its current content (a tombstone none), and no facet
    row is left without its record: facets written ahead of the change-feed lock for a key
    another writer created first are dropped (``hub._ingest``)."""
    async with hub.db.session() as session:
        rows = (await session.execute(sa.text(
            "SELECT r.id, r.deleted, f.facet, f.code FROM records r "
            "LEFT JOIN record_facets f ON f.record_id = r.id"
        ))).all()
        orphans = (await session.execute(sa.text(
            "SELECT count(*) FROM record_facets f "
            "WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = f.record_id)"
        ))).scalar_one()
    assert orphans == 0
    deleted: dict[str, bool] = {}
    facets: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for record_id, is_deleted, facet, code in rows:
        deleted[record_id] = bool(is_deleted)
        if facet is not None:
            facets[record_id].add((facet, code))
    content = {("language", "vie"), ("theme", "vn_policy_law")}  # as product() writes
    assert deleted and all(
        facets[record_id] == (set() if is_deleted else content)
        for record_id, is_deleted in deleted.items()
    )


def in_process(hub: Hub) -> MakeClient:
    app = create_app(hub.settings, hub=hub)
    app.state.hub = hub  # ASGITransport does not run the lifespan

    def make_client() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://hub.test", timeout=30)

    return make_client


async def test_consumer_ends_with_the_final_state_under_concurrent_writers(hub: Hub) -> None:
    await run_scenario(in_process(hub))
    await assert_facets_follow_records(hub)


async def test_resume_from_stored_cursor_gets_only_newer_changes_and_tombstones(
    hub: Hub,
) -> None:
    make_client = in_process(hub)
    async with make_client() as client:
        first = [product(source_id(i), f"Bản đầu {i}") for i in range(5)]
        await client.post("/v1/products:batch", json={"records": first}, headers=auth("g16"))
        page = (await client.get("/v1/changes", params={"after": "0"},
                                 headers=auth("reader"))).json()
        assert [c["record"]["source_id"] for c in page["changes"]] == [
            source_id(i) for i in range(5)
        ]
        stored = page["next_cursor"]

        # Nothing new: the stored cursor gives an empty page and stays where it is.
        same = (await client.get("/v1/changes", params={"after": stored},
                                 headers=auth("reader"))).json()
        assert same == {"changes": [], "next_cursor": stored, "has_more": False}

        second = [
            product(source_id(1), "Bản sửa 1"),
            {"source_id": source_id(2), "_op": "delete"},
            product(source_id(3), "Bản đầu 3"),  # unchanged: no change in the feed
            product(source_id(9), "Bản mới 9"),
        ]
        summary = (await client.post("/v1/products:batch", json={"records": second},
                                     headers=auth("g16"))).json()
        assert (summary["created"], summary["updated"], summary["unchanged"],
                summary["deleted"]) == (1, 1, 1, 1)
        resumed = (await client.get("/v1/changes", params={"after": stored},
                                    headers=auth("reader"))).json()
        changes = resumed["changes"]
        assert all(c["seq"] > int(stored) for c in changes)
        assert [(c["op"], c["record"]["source_id"], c["record"]["version"]) for c in changes] == [
            ("upsert", source_id(1), 2), ("delete", source_id(2), 2), ("upsert", source_id(9), 1)
        ]
        tombstone = changes[1]["record"]
        assert tombstone["deleted"] is True and tombstone["data"] == {}
        assert tombstone["owner_agency"] == "G16"
        assert resumed["next_cursor"] == str(changes[-1]["seq"])

        # The tombstone travels to every consumer, also one starting from the beginning.
        everything = (await client.get("/v1/changes", params={"after": "0"},
                                       headers=auth("g15"))).json()["changes"]
        assert ("delete", source_id(2)) in [(c["op"], c["record"]["source_id"])
                                            for c in everything]
        assert len(everything) == 8


async def test_two_uvicorn_workers_on_postgresql(
    hub: Hub, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the multi-process variant needs PostgreSQL")
    principals = [
        {"token": token(name), "agency": agency, "client_id": client, "scopes": scopes}
        for name, (agency, client, scopes) in CALLERS.items()
    ]
    port = free_port()
    env = child_env(database_url=database_url, environment="development",
                    dev_principals=json.dumps(principals), database_pool_size="8")
    with running_server(["--no-demo", "--port", str(port), "--workers", "2"],
                        env=env, cwd=tmp_path, port=port) as server:

        def make_client() -> httpx.AsyncClient:
            return httpx.AsyncClient(base_url=server.base_url, timeout=30)

        await run_scenario(make_client)
    await assert_facets_follow_records(hub)
    assert server.process.returncode is not None  # stopped with the block
    log = server.stderr()
    assert "Traceback" not in log and '"level": "error"' not in log, log[-4000:]
