"""Two gateways (``rightshub serve``) and two workers (``rightshub worker``) as separate
processes on one PostgreSQL database and one Redis, under pushes, pulls and subscriptions at
once; one gateway and one worker are SIGKILLed mid-load and the rest carry on.

Asserted, against what the code promises (docs/exchange-api.md, connectors/_delivery.py):

- a client's rate limit is one limit across both gateways (counted in Redis): of requests
  alternated between them exactly N pass, then either gateway answers 429;
- every pushed record is stored exactly once (clients retry a batch on the other gateway
  with the same Idempotency-Key), every record of the simulated agency is pulled, no change
  applied twice;
- each connector run holds the connector's lease alone: no two runs overlap, a running run
  is always its lease owner's, only the killed worker's run ends "interrupted";
- every change reaches each subscription, in ``seq`` order, each in exactly one delivery the
  hub recorded. Delivery is at least once: the only extra copies allowed are the one batch
  per subscription the killed worker had sent but not recorded (received before the kill);
- the change feed read through either gateway is byte for byte the same (mid-load, and in
  full at the end, through the killed gateway restarted).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import SecretStr

import connectors
from connectors._outbox import event_id
from hub import Hub, Principal, Settings
from tests.connectors import SIM_SECRET, Simulator, expected_live, running_simulator, sim_config
from tests.faults import HubProcess, batch_body, pg_database, prepare_database
from tests.topology import (
    SECRET_KEY,
    Subscriber,
    WorkerProcess,
    redis_up,
    sql,
    topology_env,
)

pytestmark = pytest.mark.slow

LIMIT = 60  # requests per client per minute, shared by both gateways
PUSHERS, BATCHES, SIZE = 4, 8, 100
TOTAL = PUSHERS * BATCHES * SIZE
SIM_RECORDS, MUTATIONS = 300, 6
REDIS_DB = 5
DEADLINE_S = 45  # for each wait for the topology to settle
ALL = ["records:read", "records:write", "changes:read"]
HUB_ADMIN = Principal("topology-hub-admin", "G16", frozenset({"admin", "admin:hub"}),
                      kind="admin", role="hub_admin")


@dataclass
class Clients:
    """Development callers with ids unique to this run: their Redis counters are their own
    even when other runs share the Redis database."""

    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    AGENCIES: ClassVar[dict[str, str]] = {"probe": "G16", "feed": "G16", "g15": "G15", "g08": "G08",
                **{f"p{n}": "G16" for n in range(PUSHERS)}}

    def token(self, name: str) -> str:
        return f"topo-{self.run}-{name}-token-0123456789"

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(name)}"}

    def principals(self) -> list[dict[str, Any]]:
        return [{"token": self.token(name), "agency": agency,
                 "client_id": f"topo-{self.run}-{name}", "scopes": ALL}
                for name, agency in self.AGENCIES.items()]


@dataclass
class Load:
    gateways: list[HubProcess]
    workers: list[WorkerProcess]
    clients: Clients
    database_url: str
    sim: Simulator
    answers: dict[str, httpx.Response] = field(default_factory=dict)
    in_flight: list[int] = field(default_factory=lambda: [0, 0])
    retried: list[str] = field(default_factory=list)
    probe: list[tuple[int, httpx.Response]] = field(default_factory=list)
    feed_pages: list[httpx.Response] = field(default_factory=list)
    killed_worker: str | None = None
    killed_at: float | None = None
    lease_violations: list[Any] = field(default_factory=list)
    samples: int = 0
    samples_running: int = 0  # samples that saw a live worker's run in progress
    mutations_done: int = 0

    def url(self, g: int) -> str:
        return self.gateways[g].base_url


async def _push(load: Load, http: httpx.AsyncClient, n: int, b: int) -> None:
    """One batch until it has an answer: on a cut connection, a 5xx or a 409 the client
    sends the same bytes with the same Idempotency-Key to the other gateway."""
    key = f"topo-p{n}-b{b}"
    body = batch_body(f"TOPO{n}", b * SIZE, SIZE)
    headers = {**load.clients.headers(f"p{n}"), "Content-Type": "application/json",
               "Idempotency-Key": key}
    g = n % 2
    deadline = time.monotonic() + DEADLINE_S
    while True:
        assert time.monotonic() < deadline, f"batch {key} not taken: {load.retried}"
        load.in_flight[g] += 1
        try:
            response = await http.post(load.url(g) + "/v1/products:batch", content=body,
                                       headers=headers)
        except httpx.TransportError as exc:
            load.retried.append(f"{key}@{g}: {type(exc).__name__}")
            g = 1 - g
            await asyncio.sleep(0.05)
            continue
        finally:
            load.in_flight[g] -= 1
        if response.status_code >= 500 or response.status_code == 409:
            load.retried.append(f"{key}@{g}: {response.status_code}")
            g = 1 - g
            await asyncio.sleep(0.1)
            continue
        load.answers[key] = response
        return


async def _pusher(load: Load, n: int) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for b in range(BATCHES):
            await _push(load, http, n, b)
            await asyncio.sleep(0.3)


async def _mutator(load: Load) -> None:
    """The agency keeps changing while the hub pulls it (the connector runs every second)."""
    for _ in range(MUTATIONS):
        await asyncio.sleep(1.2)
        await asyncio.to_thread(load.sim.mutate, create=15, update=10, delete=2)
        load.mutations_done += 1


async def _probe(load: Load) -> None:
    """LIMIT + 4 requests of one client, alternated between the gateways, one at a time."""
    async with httpx.AsyncClient(timeout=30) as http:
        for i in range(LIMIT + 4):
            g = i % 2
            response = await http.get(load.url(g) + "/v1/products", params={"limit": 1},
                                      headers=load.clients.headers("probe"))
            load.probe.append((g, response))


async def _head(load: Load) -> int:
    rows = await asyncio.to_thread(
        sql, load.database_url, "SELECT last_seq FROM hub_locks WHERE name = 'change_feed'")
    return int(rows[0][0] or 0) if rows else 0


async def _monitor(load: Load, stop: asyncio.Event) -> None:
    """Samples the running runs and the connector's lease: a live worker's running run is
    always the lease owner's, and there is at most one."""
    while not stop.is_set():
        rows = await asyncio.to_thread(
            sql, load.database_url,
            "SELECT r.worker, c.lease_owner FROM connector_runs r JOIN connectors c"
            " ON c.id = r.connector_id WHERE r.status = 'running'")
        live = [(w, owner) for w, owner in rows if w != load.killed_worker]
        if len(live) > 1 or any(w != owner for w, owner in live):
            load.lease_violations.append(rows)
        load.samples += 1
        load.samples_running += bool(live)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.15)


async def _orchestrate(load: Load) -> None:
    """Rate-limit probe, a mid-load comparison of the feed, then the kills mid-load."""
    await asyncio.sleep(0.5)
    await _probe(load)
    deadline = time.monotonic() + DEADLINE_S
    while await _head(load) < 600:
        assert time.monotonic() < deadline, "the change feed did not grow"
        await asyncio.sleep(0.1)
    async with httpx.AsyncClient(timeout=30) as http:
        for g in (0, 1):  # a full page: committed changes in commit order, so it is final
            load.feed_pages.append(await http.get(
                load.url(g) + "/v1/changes", params={"after": 0, "limit": 500},
                headers=load.clients.headers("feed")))
    while len(load.answers) < PUSHERS * BATCHES // 3:
        assert time.monotonic() < deadline, "pushes stalled"
        await asyncio.sleep(0.05)
    waited = time.monotonic()
    while load.in_flight[0] == 0 and time.monotonic() - waited < 3:
        await asyncio.sleep(0.005)  # kill the gateway while a batch is on its wire
    owners = await asyncio.to_thread(
        sql, load.database_url, "SELECT lease_owner FROM connectors WHERE lease_owner IS NOT NULL")
    victim = next((w for w in load.workers if owners and w.id == owners[0][0]), load.workers[0])
    load.killed_worker = victim.id
    load.gateways[0].kill()
    victim.kill()
    load.killed_at = time.monotonic()


async def _load(load: Load) -> None:
    stop = asyncio.Event()
    monitor = asyncio.create_task(_monitor(load, stop))
    try:
        await asyncio.gather(_orchestrate(load), _mutator(load),
                             *(_pusher(load, n) for n in range(PUSHERS)))
    finally:
        stop.set()
        await monitor


# --- after the load ----------------------------------------------------------------------------


def _wait(what: str, check: Any, load: Load) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {w.id}\n{w.log()}" for w in load.workers)
            raise AssertionError(f"{what} not reached within {DEADLINE_S} s\n{logs}")
        time.sleep(0.3)


def _pulled_all(load: Load) -> bool:
    rows = sql(load.database_url,
               "SELECT source_id, deleted, data->>'title', data->>'publisher' FROM records"
               " WHERE owner_agency = '08' AND record_type = 'products'")
    live = {s: {"title": t, "publisher": p} for s, deleted, t, p in rows if not deleted}
    state = load.sim.state()
    gone = {r["ma_so"] for r in state if r["trang_thai"] != "hien_hanh"}
    return live == expected_live(state) and {s for s, d, _, _ in rows if d} == gone


def _delivered_all(load: Load) -> bool:
    rows = sql(load.database_url,
               "SELECT count(*) FROM subscriptions s, hub_locks h WHERE h.name = 'change_feed'"
               " AND (s.position < h.last_seq OR s.leased_until IS NOT NULL)")
    return int(rows[0][0]) == 0


def _feed(http: httpx.Client, base: str, headers: dict[str, str]) -> list[httpx.Response]:
    pages, after = [], 0
    while True:
        page = http.get(base + "/v1/changes", params={"after": after, "limit": 1000},
                        headers=headers)
        assert page.status_code == 200, page.text
        pages.append(page)
        if not page.json()["has_more"]:
            return pages
        after = page.json()["next_cursor"]


def _check_rate_limit(load: Load) -> None:
    statuses = [(g, r.status_code) for g, r in load.probe]
    assert [s for _, s in statuses[:LIMIT]] == [200] * LIMIT, statuses
    over = load.probe[LIMIT:]
    assert [r.status_code for _, r in over] == [429] * len(over), statuses
    assert {g for g, _ in over} == {0, 1}  # refused by either gateway
    for _, r in over:
        assert int(r.headers["Retry-After"]) >= 1
        assert r.headers["content-type"].startswith("application/problem+json")


def _check_pushes(load: Load) -> None:
    assert len(load.answers) == PUSHERS * BATCHES
    for key, r in load.answers.items():
        assert r.status_code == 200, (key, r.text)
        body = r.json()
        assert (body["status"], body["created"], body["rejected"]) == ("ok", SIZE, 0), key
    rows = sql(load.database_url,
               "SELECT count(*), count(DISTINCT source_id), max(version) FROM records"
               " WHERE owner_agency = 'G16' AND source_id LIKE 'TOPO%'")
    assert rows[0] == (TOTAL, TOTAL, 1), rows
    wanted = {f"TOPO{n}-{i:06d}" for n in range(PUSHERS) for i in range(BATCHES * SIZE)}
    stored = {s for (s,) in sql(load.database_url, "SELECT source_id FROM records"
                                " WHERE owner_agency = 'G16' AND source_id LIKE 'TOPO%'")}
    assert stored == wanted
    changes = sql(load.database_url, "SELECT count(*) FROM record_changes"
                  " WHERE owner_agency = 'G16' AND source_id LIKE 'TOPO%'")
    assert changes[0][0] == TOTAL, changes


def _check_pulls(load: Load, connector_id: str) -> list[tuple[Any, ...]]:
    # No change applied twice: each record has exactly one change per version.
    twice = sql(load.database_url,
                "SELECT count(*) FROM records r WHERE r.owner_agency = '08' AND r.version <>"
                " (SELECT count(*) FROM record_changes c WHERE c.record_id = r.id)")
    assert twice[0][0] == 0
    runs = sql(load.database_url,
               "SELECT worker, status, started_at, finished_at, pages FROM connector_runs"
               " WHERE connector_id = %s ORDER BY started_at", connector_id)
    assert len(runs) >= 3, runs
    assert {w for w, *_ in runs} <= {w.id for w in load.workers}, runs
    for n, (worker, status, _started, finished, _) in enumerate(runs):
        if status == "running":  # the survivor was stopped mid-run: only the last one
            assert n == len(runs) - 1, runs
        elif status == "interrupted":
            assert worker == load.killed_worker, runs
        else:
            assert status == "succeeded", runs
        if n + 1 < len(runs):
            assert finished is not None and finished <= runs[n + 1][2], (
                f"two runs overlapped: {runs[n]} and {runs[n + 1]}")
    assert not load.lease_violations, load.lease_violations[:5]
    return runs


def _check_deliveries(load: Load, subscriber: Subscriber, subs: dict[str, str],
                      expected: dict[str, set[int]]) -> dict[str, int]:
    assert subscriber.refused == 0
    assert load.killed_at is not None
    duplicates: dict[str, int] = {}
    for agency, sub_id in subs.items():
        received = subscriber.of(sub_id)
        recorded = {d for (d,) in sql(
            load.database_url, "SELECT delivery_id FROM delivery_attempts"
            " WHERE subscription_id = %s AND outcome = 'delivered'", sub_id)}
        assert recorded <= {r.delivery_id for r in received}
        assert all(eid == event_id(seq) for r in received for eid, seq in r.events)
        seqs = [seq for r in received for _, seq in r.events]
        assert set(seqs) == expected[agency], (
            f"{agency}: missing {sorted(expected[agency] - set(seqs))[:10]}, "
            f"extra {sorted(set(seqs) - expected[agency])[:10]}")
        # Each change in exactly one delivery the hub recorded as delivered.
        in_recorded = Counter(seq for r in received if r.delivery_id in recorded
                              for _, seq in r.events)
        assert set(in_recorded.values()) == {1} and set(in_recorded) == expected[agency]
        # The copies beyond those: a batch the killed worker sent but never recorded.
        unrecorded = [r for r in received if r.delivery_id not in recorded]
        assert len(unrecorded) <= 1, unrecorded
        assert all(r.at < load.killed_at for r in unrecorded), unrecorded
        first: dict[int, int] = {}
        for n, seq in enumerate(seqs):
            first.setdefault(seq, n)
        assert sorted(first, key=first.__getitem__) == sorted(first), "not in seq order"
        duplicates[agency] = len(seqs) - len(set(seqs))
    return duplicates


# --- the test ----------------------------------------------------------------------------------


async def _setup(database_url: str, sim: Simulator, subscriber: Subscriber) -> tuple[
        str, dict[str, str]]:
    """The pull connector (due every second) and two subscriptions, made in this process."""
    hub = Hub(Settings(database_url=database_url, environment="development",
                       secret_key=SecretStr(SECRET_KEY), outbound_allow=["127.0.0.0/8", "::1/128"]))
    try:
        async with hub.db.transaction() as session:
            info = await connectors.create_connector(
                hub, session, agency="08", name="Tuyên Quang (mô phỏng)", kind="rest",
                config=sim_config(sim, page_size=50), schedule_seconds=1,
                secrets=connectors.Secrets.model_validate({"client_secret": SIM_SECRET}))
        subs = {}
        for agency in ("G15", "G08"):
            created = await connectors.create_subscription(
                hub, HUB_ADMIN, agency=agency, name=f"Cổng {agency}",
                endpoint_url=subscriber.url, deliver_from="beginning")
            assert created.secret is not None
            subscriber.secrets[created.subscription.id] = created.secret
            subs[agency] = created.subscription.id
        return info.id, subs
    finally:
        await hub.close()


def test_two_gateways_two_workers_share_limits_leases_and_lose_nothing(tmp_path: Path) -> None:
    if not redis_up():
        pytest.skip("Redis is not running at 127.0.0.1:6379 (the shared rate-limit store)")
    started = time.monotonic()
    clients = Clients()
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(pg_database())  # skips when PG is unreachable
        prepare_database(database_url)
        sim = stack.enter_context(running_simulator(tmp_path, "--records", str(SIM_RECORDS),
                                                    "--seed", "21", "--latency-ms", "5"))
        subscriber = Subscriber()
        subscriber.start()
        stack.callback(subscriber.stop)
        connector_id, subs = asyncio.run(_setup(database_url, sim, subscriber))

        env = topology_env(database_url, REDIS_DB, clients.principals(), f"{LIMIT}/minute")
        gateways, workers = [], []
        for n in range(2):
            (tmp_path / f"gw{n}").mkdir()
            gateway = HubProcess(database_url, tmp_path / f"gw{n}")
            gateway.env = {**env, "RIGHTSHUB_PORT": str(gateway.port)}
            stack.callback(gateway.stop)
            gateways.append(gateway)
            worker = WorkerProcess(f"w{n + 1}", env, tmp_path)
            stack.callback(worker.stop)
            workers.append(worker)
        for worker in workers:
            worker.start()

        async def start_gateways() -> None:
            await asyncio.gather(*(asyncio.to_thread(g.start) for g in gateways))

        asyncio.run(start_gateways())
        ready = time.monotonic() - started

        load = Load(gateways, workers, clients, database_url, sim)
        asyncio.run(_load(load))
        loaded = time.monotonic() - started

        _wait("every source record pulled", lambda: _pulled_all(load), load)
        _wait("every change delivered", lambda: _delivered_all(load), load)
        gateways[0].start()  # the killed gateway, restarted on its port
        with httpx.Client(timeout=30) as http:
            through = [_feed(http, g.base_url, clients.headers("feed")) for g in gateways]
            expected = {agency: {c["seq"] for p in _feed(http, gateways[1].base_url,
                                                        clients.headers(agency.lower()))
                                 for c in p.json()["changes"]}
                        for agency in subs}
        for worker in workers:
            worker.stop()

        _check_rate_limit(load)
        a, b = load.feed_pages
        assert a.status_code == b.status_code == 200 and len(a.json()["changes"]) == 500
        assert a.content == b.content, "the feed differs between the gateways (mid-load)"
        assert [p.content for p in through[0]] == [p.content for p in through[1]], (
            "the feed differs between the gateways")
        feed = [c for p in through[1] for c in p.json()["changes"]]
        assert len({c["seq"] for c in feed}) == len(feed)
        _check_pushes(load)
        runs = _check_pulls(load, connector_id)
        duplicates = _check_deliveries(load, subscriber, subs, expected)
        assert load.mutations_done == MUTATIONS
    print(f"\ntopology: ready {ready:.1f} s, load done {loaded:.1f} s, total "
          f"{time.monotonic() - started:.1f} s; {len(feed)} changes, {len(runs)} runs "
          f"({Counter(w for w, *_ in runs)}), killed gw0 and {load.killed_worker}; "
          f"retries {len(load.retried)}; duplicate deliveries {duplicates}; "
          f"lease samples {load.samples} ({load.samples_running} during a run)")
