"""Connector tests: real agency simulators (``rightshub simulate-agency`` subprocesses) and
real hubs on loopback; SQLite and PostgreSQL through the shared fixtures."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from hub import Hub
from hub.tables import Record, RecordChange
from tests.integration import RIGHTSHUB, child_env, free_port

SIM_SECRET = "bi-mat-mo-phong-0123456789"
FAST_RETRY = {"initial_seconds": 0.02, "max_seconds": 0.3, "deadline_seconds": 60,
              "attempts": 30}


@dataclass
class Simulator:
    base_url: str
    process: subprocess.Popen[bytes]

    def state(self) -> list[dict[str, Any]]:
        return list(httpx.get(self.base_url + "/_sim/state", timeout=30).json()["records"])

    def stats(self) -> dict[str, int]:
        return dict(httpx.get(self.base_url + "/_sim/state", timeout=30).json()["stats"])

    def faults(self, **values: float) -> None:
        httpx.post(self.base_url + "/_sim/faults", json=values, timeout=10).raise_for_status()

    def mutate(self, **counts: int) -> dict[str, list[str]]:
        response = httpx.post(self.base_url + "/_sim/mutate", json=counts, timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def revoke_tokens(self) -> None:
        httpx.post(self.base_url + "/_sim/revoke-tokens", timeout=10).raise_for_status()


@contextlib.contextmanager
def running_simulator(cwd: Path, *args: str) -> Iterator[Simulator]:
    port = free_port()
    log = cwd / f"simulator-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [RIGHTSHUB, "simulate-agency", "--port", str(port), *args], cwd=cwd,
            env=child_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    sim = Simulator(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"simulator exited: {log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(sim.base_url + "/_sim/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError("simulator did not start")
            time.sleep(0.1)
        yield sim
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def expected_live(state: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The simulator's live records by key, as the hub must hold them (title in Unicode)."""
    from connectors import to_unicode

    return {r["ma_so"]: {"title": to_unicode(r["ten_an_pham"], "auto"),
                         "publisher": r["nha_xuat_ban"]}
            for r in state if r["trang_thai"] == "hien_hanh"}


async def hub_products(hub: Hub, agency: str) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """(live records by source_id with title and publisher, deleted source_ids)."""
    async with hub.db.session() as session:
        rows = (await session.execute(sa.select(
            Record.source_id, Record.deleted, Record.data, Record.version).where(
            Record.owner_agency == agency, Record.record_type == "products"))).all()
    live = {s: {"title": d.get("title"), "publisher": d.get("publisher")}
            for s, deleted, d, _ in rows if not deleted}
    return live, {s for s, deleted, _, _ in rows if deleted}


async def change_count(hub: Hub, agency: str) -> int:
    async with hub.db.session() as session:
        return int((await session.execute(sa.select(sa.func.count()).select_from(
            RecordChange).where(RecordChange.owner_agency == agency))).scalar_one())


def sim_config(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    from connectors import demo_connector_config

    config = demo_connector_config(sim.base_url, **overrides)
    config["retry"] = FAST_RETRY
    return config
