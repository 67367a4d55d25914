"""Pulls from the real agency simulator on loopback, through the one ingest pipeline, on
SQLite and PostgreSQL: every pagination style, incremental runs with updates and
tombstones, full refresh, resumption after a failed run, OAuth2 token refresh, API keys,
private_key_jwt, the circuit breaker, check and preview."""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import connectors
from hub import Hub
from hub.tables import Connector, ConnectorRun, RecordChange
from tests.connectors import (
    SIM_SECRET,
    Simulator,
    change_count,
    expected_live,
    hub_products,
    running_simulator,
    sim_config,
)

pytestmark = pytest.mark.anyio
SECRET = connectors.Secrets.model_validate({"client_secret": SIM_SECRET})


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with running_simulator(tmp_path_factory.mktemp("sim"), "--records", "230",
                           "--seed", "7") as simulator:
        yield simulator


async def create(hub: Hub, agency: str, config: dict[str, Any],
                 secrets: connectors.Secrets = SECRET, **extra: Any) -> str:
    async with hub.db.transaction() as session:
        info = await connectors.create_connector(hub, session, agency=agency, name="thử",
                                                 kind="rest", config=config, secrets=secrets,
                                                 **extra)
    return info.id


async def test_every_pagination_style_pulls_the_same_records(
    chub: Hub, sim: Simulator, backend: str
) -> None:
    expected = expected_live(sim.state())
    styles = (("page", "G16"), ("offset", "G15"), ("cursor", "08"), ("link", "G08"))
    # Paging does not depend on the database: every style once, the default on both.
    for style, agency in styles if backend == "sqlite" else styles[2:3]:
        cid = await create(chub, agency, sim_config(sim, pagination=style, page_size=40))
        run = await connectors.run_connector(chub, cid)
        assert run["status"] == "succeeded", (style, run["errors"])
        assert run["pages"] == 6 and run["created"] == 230 and run["rejected"] == 0, run
        live, _ = await hub_products(chub, agency)
        assert live == expected, style
        again = await connectors.run_connector(chub, cid)  # incremental: nothing new
        assert again["created"] == again["updated"] == 0, style
    # A fifth of the titles came in TCVN3 and arrived as Unicode NFC, like the others.
    legacy = [r["ten_an_pham"] for r in sim.state()
              if connectors.to_unicode(r["ten_an_pham"], "auto") != r["ten_an_pham"]]
    assert 20 < len(legacy) < 90
    assert all(v["title"] == unicodedata.normalize("NFC", v["title"])
               and max(map(ord, v["title"])) > 0xFF for v in expected.values())


async def test_incremental_runs_follow_updates_and_deletes(chub: Hub, tmp_path: Path) -> None:
    with running_simulator(tmp_path, "--records", "150", "--seed", "11") as sim:
        cid = await create(chub, "08", sim_config(sim, page_size=50))
        assert (await connectors.run_connector(chub, cid))["created"] == 150
        done = sim.mutate(create=5, update=7, delete=4)
        run = await connectors.run_connector(chub, cid)
        assert run["status"] == "succeeded", run["errors"]
        assert (run["created"], run["updated"], run["deleted"]) == (5, 7, 4)
        live, deleted = await hub_products(chub, "08")
        assert live == expected_live(sim.state())
        assert deleted == set(done["deleted"])
        # Purged without a trace: only a full refresh can tell, and it tombstones them.
        purged = sim.mutate(purge=3)["purged"]
        assert (await connectors.run_connector(chub, cid))["deleted"] == 0
        async with chub.db.transaction() as session:
            await connectors.request_run(chub, session, cid, full_refresh=True)
        full = await connectors.run_connector(chub, cid)
        assert full["full_refresh"] and full["status"] == "succeeded", full["errors"]
        assert full["deleted"] == 3 and full["created"] == 0
        live, deleted = await hub_products(chub, "08")
        assert live == expected_live(sim.state())
        assert set(purged) <= deleted
        assert not (await connectors.get_connector(chub, cid)).full_refresh_requested


async def test_records_deleted_before_the_first_pull_leave_tombstones(
    chub: Hub, tmp_path: Path
) -> None:
    with running_simulator(tmp_path, "--records", "60", "--seed", "13") as sim:
        gone = set(sim.mutate(delete=6)["deleted"])  # flagged at the source, never pulled
        cid = await create(chub, "G15", sim_config(sim, page_size=25))
        run = await connectors.run_connector(chub, cid)
        assert run["status"] == "succeeded" and run["rejected"] == 0, run["errors"]
        assert (run["created"], run["deleted"]) == (54, 6)
        live, deleted = await hub_products(chub, "G15")
        assert live == expected_live(sim.state()) and deleted == gone
        async with chub.db.session() as session:
            ops = dict((await session.execute(
                sa.select(RecordChange.source_id, RecordChange.op)
                .where(RecordChange.owner_agency == "G15"))).all())
        assert {k for k, op in ops.items() if op == "delete"} == gone
        assert len(ops) == 60
        again = await connectors.run_connector(chub, cid)  # the tombstones stay as they are
        assert again["created"] == again["deleted"] == again["updated"] == 0, again
        assert await change_count(chub, "G15") == 60


async def test_a_failed_run_resumes_without_gaps_or_duplicates(
    chub: Hub, tmp_path: Path
) -> None:
    with running_simulator(tmp_path, "--records", "240", "--seed", "5",
                           "--latency-ms", "30") as sim:
        config = sim_config(sim, page_size=20)
        config["retry"] = {"initial_seconds": 0.05, "max_seconds": 0.1, "deadline_seconds": 1}
        cid = await create(chub, "08", config)
        task = asyncio.create_task(connectors.run_connector(chub, cid))
        for _ in range(200):  # until some pages are committed
            await asyncio.sleep(0.05)
            async with chub.db.session() as session:
                pages = (await session.execute(sa.select(ConnectorRun.pages))).scalar()
            if pages and pages >= 3:
                break
        sim.faults(error_rate=1.0)
        first = await task
        assert first["status"] == "failed" and 3 <= first["pages"] < 12, first
        sim.faults(error_rate=0.0)
        second = await connectors.run_connector(chub, cid)
        assert second["status"] == "succeeded", second["errors"]
        assert first["created"] + second["created"] == 240
        assert first["pages"] + second["pages"] == 12  # every page committed exactly once
        live, _ = await hub_products(chub, "08")
        assert live == expected_live(sim.state())
        assert await change_count(chub, "08") == 240  # one version each: nothing twice
        runs = await connectors.list_runs(chub, cid)
        assert [r["status"] for r in runs] == ["succeeded", "failed"]
        assert runs[1]["errors"][-1]["code"] == "run_failed"


async def test_oauth2_token_is_refreshed_before_expiry_and_after_a_401(
    chub: Hub, tmp_path: Path, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("authentication does not depend on the database: once is enough")
    with running_simulator(tmp_path, "--records", "80", "--token-ttl", "1",
                           "--latency-ms", "60") as sim:
        config = sim_config(sim, page_size=5)
        config["auth"]["refresh_margin_seconds"] = 0.6
        cid = await create(chub, "08", config)
        task = asyncio.create_task(connectors.run_connector(chub, cid))
        await asyncio.sleep(0.3)
        sim.revoke_tokens()  # the next request gets 401: a new token, once
        run = await task
        assert run["status"] == "succeeded", run["errors"]
        stats = sim.stats()
        # 16 pages x 60 ms or more, tokens used for 0.4 s at most: several fetches.
        assert stats["token_requests"] >= 3
        assert stats["unauthorised"] <= 2
        assert run["created"] == 80


async def test_a_wrong_secret_fails_the_check_and_the_run(chub: Hub, sim: Simulator) -> None:
    bad = connectors.Secrets.model_validate({"client_secret": "sai-mat-khau"})
    cid = await create(chub, "08", sim_config(sim), secrets=bad)
    check = await connectors.check_connector(chub, cid)
    assert not check["ok"] and check["steps"][0]["step"] == "token"
    run = await connectors.run_connector(chub, cid)
    assert run["status"] == "failed" and "token" in run["errors"][-1]["message_en"]
    good = await create(chub, "G16", sim_config(sim))
    check = await connectors.check_connector(chub, good)
    assert check["ok"] and [s["step"] for s in check["steps"]] == ["token", "fetch"]


async def test_api_key_and_private_key_jwt(chub: Hub, tmp_path: Path, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("authentication does not depend on the database: once is enough")
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256")
    public = tmp_path / "client.jwk"
    public.write_text(json.dumps(key.as_dict(private=False)))
    with running_simulator(tmp_path, "--records", "30", "--api-key", "khoa-api-0123456789",
                           "--public-jwk", str(public)) as sim:
        config = sim_config(sim, auth="api_key")
        cid = await create(chub, "G16", config, secrets=connectors.Secrets.model_validate(
            {"api_key": "khoa-api-0123456789"}))
        run = await connectors.run_connector(chub, cid)
        assert run["status"] == "succeeded" and run["created"] == 30, run["errors"]
        config = sim_config(sim)
        config["auth"]["method"] = "private_key_jwt"
        pem = key.as_pem(private=True).decode()
        cid = await create(chub, "G15", config, secrets=connectors.Secrets.model_validate(
            {"private_key": pem}))
        run = await connectors.run_connector(chub, cid)
        assert run["status"] == "succeeded" and run["created"] == 30, run["errors"]
        # The secrets are sealed at rest: neither appears in the stored row.
        async with chub.db.session() as session:
            sealed = (await session.get(Connector, cid)).secrets
        assert sealed and "PRIVATE" not in sealed and pem[40:80] not in sealed
        assert (await connectors.get_connector(chub, cid)).secrets_set == ["private_key"]


async def test_a_failing_connector_opens_its_circuit_and_blocks_no_other(
    chub: Hub, sim: Simulator
) -> None:
    from tests.integration import free_port

    dead = sim_config(sim)
    dead["base_url"] = f"http://127.0.0.1:{free_port()}"  # nobody listens
    dead["retry"] = {"attempts": 2, "initial_seconds": 0.01, "deadline_seconds": 1}
    dead["breaker"] = {"failure_threshold": 2, "open_seconds": 600}
    bad = await create(chub, "G15", dead)
    good = await create(chub, "G16", sim_config(sim))
    worker = connectors.Worker(chub, worker_id="w-test", lease_seconds=30)
    await worker.run_once()
    runs = {c: (await connectors.list_runs(chub, c))[0]["status"] for c in (bad, good)}
    assert runs == {bad: "failed", good: "succeeded"}
    async with chub.db.transaction() as session:
        await connectors.request_run(chub, session, bad)
    await worker.run_once()
    info = await connectors.get_connector(chub, bad)
    assert info.failures == 2 and info.breaker_open_until is not None
    assert await worker.claim(10) == []  # resting: not due until the breaker closes


async def test_preview_reports_data_quality_and_writes_nothing(
    chub: Hub, sim: Simulator
) -> None:
    config = sim_config(sim, page_size=50)
    config["streams"][0]["mapping"]["fields"]["kind"] = {"from": "loai", "map": {"sach": "book"}}
    cid = await create(chub, "08", config)
    report = await connectors.preview_connector(chub, cid)
    stream = report["streams"][0]
    fields = {f["field"]: f for f in stream["fields"]}
    assert stream["records"] == 50
    assert fields["title"]["fill_rate"] == 1.0
    assert fields["kind"]["problems"]["unmapped_value"] > 0  # video, poster...: not mapped
    assert 0 < fields["page_count"]["filled"] < 50  # only books have pages
    assert stream["would"]["rejected"] > 0  # kind is required
    live, _ = await hub_products(chub, "08")
    assert live == {}
