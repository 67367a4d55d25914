"""Reconciliation (issue 17) and full refreshes on a shifting source (issue 24 item 12), with
the real simulator on SQLite and PostgreSQL: the key-only sweep finds records missing in the
hub, stale ones and ones deleted at the source without a tombstone, repairs them through the
one ingest pipeline, and finds nothing the second time; a full refresh that met a shift
tombstones no live record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import connectors
from hub import Hub
from tests.connectors import (
    SIM_SECRET,
    expected_live,
    hub_products,
    running_simulator,
    sim_config,
)

pytestmark = pytest.mark.anyio
SECRET = connectors.Secrets.model_validate({"client_secret": SIM_SECRET})


async def _create(hub: Hub, agency: str, config: dict[str, Any]) -> str:
    async with hub.db.transaction() as session:
        info = await connectors.create_connector(hub, session, agency=agency, name="thử",
                                                 kind="rest", config=config, secrets=SECRET)
    return info.id


async def test_reconcile_repairs_missing_stale_and_gone_records(
    chub: Hub, tmp_path: Path, backend: str
) -> None:
    with running_simulator(tmp_path, "--records", "400", "--seed", "13") as sim:
        cid = await _create(chub, "08", sim_config(sim, pagination="page", page_size=50))
        assert (await connectors.run_connector(chub, cid))["created"] == 400
        # What happens at the agency between two pulls; the reconciliation comes first.
        done = sim.mutate(create=6, update=5, delete=3, purge=4)
        run = await connectors.reconcile_connector(chub, cid)
        assert run["status"] == "succeeded" and run["kind"] == "reconcile", run["errors"]
        assert (run["missing"], run["stale"], run["gone"]) == (6, 5, 7), run
        assert (run["created"], run["updated"], run["deleted"]) == (6, 5, 7), run
        live, deleted = await hub_products(chub, "08")
        assert live == expected_live(sim.state())
        assert deleted == set(done["deleted"]) | set(done["purged"])
        again = await connectors.reconcile_connector(chub, cid)
        assert (again["missing"], again["stale"], again["gone"]) == (0, 0, 0), again
        assert again["created"] == again["updated"] == again["deleted"] == 0
        kinds = [r["kind"] for r in await connectors.list_runs(chub, cid)]
        assert kinds == ["reconcile", "reconcile", "pull"]
        # The next pull finds the repaired records as they are: nothing to change.
        pull = await connectors.run_connector(chub, cid)
        assert pull["created"] == pull["deleted"] == 0 and pull["status"] == "succeeded"


async def test_reconcile_repairs_what_a_page_number_walk_lost(
    chub: Hub, tmp_path: Path, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the sweep itself runs on both databases in the test above")
    with running_simulator(tmp_path, "--records", "1500", "--seed", "17",
                           "--move-rate", "4") as sim:
        config = sim_config(sim, pagination="page", page_size=100)
        config["streams"][0]["incremental"]["ordered"] = False
        cid = await _create(chub, "G16", config)
        assert (await connectors.run_connector(chub, cid))["shifts"] > 0
        sim.faults(move_rate=0)
        live, _ = await hub_products(chub, "G16")
        lost = set(expected_live(sim.state())) - set(live)
        assert lost  # the walk lost records on the moving source
        run = await connectors.reconcile_connector(chub, cid)
        assert run["status"] == "succeeded", run["errors"]
        assert run["missing"] == len(lost) and run["gone"] == 0, run
        live, _ = await hub_products(chub, "G16")
        assert live == expected_live(sim.state())


@pytest.mark.parametrize("sweep", [True, False])
async def test_a_full_refresh_on_a_shifting_source_tombstones_no_live_record(
    chub: Hub, tmp_path: Path, backend: str, sweep: bool
) -> None:
    """With a key listing, the sweep decides what is gone; without one, nothing is deleted
    and the run says a reconciliation is needed. The shift: with the sweep, runs of equal
    update times (to the second, a change every 10 ms) paged through while records move; without
    it, page numbers walked (``ordered: false``) while records move."""
    if backend != "sqlite" and not sweep:
        pytest.skip("one variant on PostgreSQL")
    args = ["--time-format", "dd/mm/yyyy HH:MM:SS", "--clock-step-ms", "10"] if sweep else []
    with running_simulator(tmp_path, "--records", "1500", "--seed", "19", *args) as sim:
        if sweep:
            config = sim_config(sim, pagination="page", page_size=40,
                                time_format="dd/mm/yyyy HH:MM:SS")
        else:
            config = sim_config(sim, pagination="page", page_size=100)
            config["streams"][0]["incremental"]["ordered"] = False
            del config["streams"][0]["keys"]
        cid = await _create(chub, "08", config)
        assert (await connectors.run_connector(chub, cid))["created"] == 1500
        purged = set(sim.mutate(purge=3)["purged"])
        sim.faults(move_rate=3)
        async with chub.db.transaction() as session:
            await connectors.request_run(chub, session, cid, full_refresh=True)
        run = await connectors.run_connector(chub, cid)
        sim.faults(move_rate=0)
        assert run["status"] == "succeeded" and run["shifts"] > 0, run
        live_at_source = set(expected_live(sim.state()))
        live, deleted = await hub_products(chub, "08")
        assert not deleted & live_at_source  # 0 live records tombstoned
        if sweep:  # the key-only sweep decided: the purged ones, and only they
            assert deleted == purged and run["gone"] == 3 and run["deleted"] == 3, run
            # Records kept moving until the run ended; the next pull takes the last moves.
            assert (await connectors.run_connector(chub, cid))["status"] == "succeeded"
            live, deleted = await hub_products(chub, "08")
            assert live == expected_live(sim.state()) and deleted == purged
        else:  # nothing deleted; the run says a reconciliation is needed
            assert run["deleted"] == 0 and deleted == set()
            assert "shift_detected" in {e["code"] for e in run["errors"]}


async def test_the_worker_reconciles_on_the_connector_schedule(
    chub: Hub, tmp_path: Path, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the schedule does not depend on the database")
    with running_simulator(tmp_path, "--records", "120", "--seed", "23") as sim:
        config = sim_config(sim, pagination="page", page_size=50)
        config["reconcile_every_seconds"] = 3600
        cid = await _create(chub, "08", config)
        worker = connectors.Worker(chub, worker_id="w-reconcile", lease_seconds=30)
        await worker.run_once()
        runs = await connectors.list_runs(chub, cid)
        assert [(r["kind"], r["trigger"], r["status"]) for r in runs] == [
            ("reconcile", "schedule", "succeeded"), ("pull", "schedule", "succeeded")]
        assert (runs[0]["missing"], runs[0]["stale"], runs[0]["gone"]) == (0, 0, 0)
        sim.mutate(purge=1)
        async with chub.db.transaction() as session:
            await connectors.request_run(chub, session, cid)
        await worker.run_once()  # a pull only: the last reconciliation is not an hour old
        assert [r["kind"] for r in await connectors.list_runs(chub, cid)] == [
            "pull", "reconcile", "pull"]
        assert not (await connectors.get_connector(chub, cid)).running


async def test_the_reconcile_command(
    chub: Hub, tmp_path: Path, backend: str, database_url: str
) -> None:
    """``rightshub connectors reconcile ID`` in a process of its own: the counts printed in
    both languages, the run as JSON, exit 0; an unknown connector exits non-zero."""
    import json
    import subprocess

    from tests._cli import run_cli
    from tests.integration import RIGHTSHUB, child_env

    if backend != "sqlite":
        pytest.skip("the command does not depend on the database")
    with running_simulator(tmp_path, "--records", "120", "--seed", "21") as sim:
        cid = await _create(chub, "08", sim_config(sim, pagination="page", page_size=50))
        assert (await connectors.run_connector(chub, cid))["created"] == 120
        sim.mutate(create=2, update=1, delete=0, purge=3)
        key = chub.settings.secret_key
        env = child_env(database_url=database_url, environment="test",
                        **({"secret_key": key.get_secret_value()} if key else {}))
        done = subprocess.run([RIGHTSHUB, "connectors", "reconcile", cid], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "missing: 2" in done.stdout and "stale: 1" in done.stdout
        assert "gone: 3" in done.stdout and "Thiếu trong hub" in done.stdout
        run = json.loads(done.stdout[done.stdout.index("{"):])
        assert run["kind"] == "reconcile" and run["trigger"] == "manual"
        live, _ = await hub_products(chub, "08")
        assert live == expected_live(sim.state())
        unknown = run_cli(["connectors", "reconcile", "con-nobody"], env=env)  # in-process
        assert unknown.returncode != 0
