"""Pull from the 34 provinces at once: 34 agency simulators (``rightshub simulate-agency``, one
process each, each with its own OAuth2 token endpoint, its own client secret and its own
faults: 502/503/504, 429 with ``Retry-After`` and connections cut mid-answer), one connector per
province (the 34 codes of the 2025 reorganisation), pulled concurrently into a fresh PostgreSQL
database — first by one ``rightshub worker --once`` process, then by two sharing the database
(``SKIP LOCKED`` leases). Reports records/s in total, whether every province's data is exact
(the hub holds exactly each simulator's live records, titles repaired) and how many requests
came before a ``Retry-After`` had passed (counted by each simulator: must be 0).

Sizes: ``BENCH_PROVINCE_RECORDS`` records per province (default 3,000: 102,000 in all); faults
``BENCH_PROVINCE_FAULTS`` as ``error,429,drop`` shares (default ``0.02,0.02,0.01``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import sqlalchemy as sa

import connectors
from bench import _common as c
from hub import Hub, Settings
from hub.tables import Record

RECORDS = int(os.environ.get("BENCH_PROVINCE_RECORDS", "3000"))
ERROR, RATE_429, DROP = (float(v) for v in
                         os.environ.get("BENCH_PROVINCE_FAULTS", "0.02,0.02,0.01").split(","))
PAGE_SIZE = 500
SECRET = "bi-mat-tinh"
PROVINCES_CSV = c.ROOT / "hub" / "seed" / "provinces_2025.csv"


def _province_codes() -> list[str]:
    with PROVINCES_CSV.open(encoding="utf-8") as f:
        return [row["code"] for row in csv.DictReader(f)]


@contextlib.contextmanager
def _simulators(codes: list[str]) -> Iterator[dict[str, str]]:
    """One simulator per province (its own process, secret, seed and faults): code -> base."""
    c.CACHE.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    bases: dict[str, str] = {}
    try:
        for n, code in enumerate(codes):
            port = c.free_port()
            with open(c.CACHE / f"simulator-{port}.log", "wb") as out:
                procs.append(subprocess.Popen(
                    [c.RIGHTSHUB, "simulate-agency", "--port", str(port), "--records",
                     str(RECORDS), "--seed", str(100 + n), "--client-secret",
                     f"{SECRET}-{code}-0123456789", "--error-rate", str(ERROR),
                     "--rate-429", str(RATE_429), "--drop-rate", str(DROP),
                     "--retry-after", "1"],
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
            bases[code] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        for base in bases.values():
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/_sim/health", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"simulator {base} not ready")
                time.sleep(0.1)
        yield bases
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _settings(url: str) -> Settings:
    return Settings(database_url=url, environment="development",
                    outbound_allow=["127.0.0.0/8"], log_level="warning")


async def _create_connectors(url: str, bases: dict[str, str]) -> list[str]:
    hub = Hub(_settings(url))
    try:
        ids = []
        async with hub.db.transaction() as session:
            for code, base in bases.items():
                config = connectors.demo_connector_config(base, page_size=PAGE_SIZE)
                info = await connectors.create_connector(
                    hub, session, agency=code, name=f"Sở {code}", kind="rest", config=config,
                    secrets=connectors.Secrets.model_validate(
                        {"client_secret": f"{SECRET}-{code}-0123456789"}))
                ids.append(info.id)
        return ids
    finally:
        await hub.close()


def _run_workers(url: str, processes: int, concurrency: int) -> float:
    """``rightshub worker --once`` processes started together; wall time until all exit."""
    env = c.hub_env(url)
    started = time.perf_counter()
    procs = [subprocess.Popen([c.RIGHTSHUB, "worker", "--once", "--concurrency",
                               str(concurrency)], env=env, cwd=c.ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(processes)]
    for proc in procs:
        _, err = proc.communicate(timeout=1800)
        if proc.returncode:
            raise RuntimeError(f"worker failed: {err.decode()[-2000:]}")
    return time.perf_counter() - started


async def _check(url: str, ids: list[str], bases: dict[str, str]) -> dict[str, Any]:
    """Every run succeeded once; each province's records equal its simulator's live ones."""
    hub = Hub(_settings(url))
    try:
        runs = [r for cid in ids for r in await connectors.list_runs(hub, cid)]
        failed = [r["errors"] for r in runs if r["status"] != "succeeded"]
        async with hub.db.session() as session:
            rows = (await session.execute(sa.select(
                Record.owner_agency, Record.source_id, Record.deleted, Record.data).where(
                Record.record_type == "products"))).all()
    finally:
        await hub.close()
    held: dict[str, dict[str, dict[str, Any]]] = {code: {} for code in bases}
    for agency, source_id, deleted, data in rows:
        if not deleted:
            held.setdefault(agency, {})[source_id] = {"title": data.get("title"),
                                                      "publisher": data.get("publisher")}
    exact, early, stats_total = 0, 0, {"errors": 0, "429": 0, "drops": 0}
    for code, base in bases.items():
        state = httpx.get(base + "/_sim/state", timeout=60).json()
        expected = {r["ma_so"]: {"title": connectors.to_unicode(r["ten_an_pham"], "auto"),
                                 "publisher": r["nha_xuat_ban"]}
                    for r in state["records"] if r["trang_thai"] == "hien_hanh"}
        exact += held.get(code) == expected
        early += state["stats"]["early_retries"]
        for key in stats_total:
            stats_total[key] += state["stats"][key]
    return {"runs": len(runs), "failed_runs": len(failed), "failures": failed[:3],
            "records": sum(r["created"] for r in runs), "retries": sum(r["retries"] for r in runs),
            "agencies_exact": exact, "early_retries": early, "faults_served": stats_total}


def main(args: argparse.Namespace) -> None:
    codes = _province_codes()
    results: dict[str, Any] = {}
    rows = []
    with _simulators(codes) as bases:
        early_before = 0
        for processes in (1, 2):
            url = c.recreate_pg_database("rightshub_bench_provinces")
            c.fresh_hub_database(url)
            ids = asyncio.run(_create_connectors(url, bases))
            c.console.print(f"pull-provinces: {len(codes)} provinces, {processes} worker "
                            f"process(es)…")
            seconds = _run_workers(url, processes, -(-len(ids) // processes))
            out = asyncio.run(_check(url, ids, bases))
            out["early_retries"], early_before = (out["early_retries"] - early_before,
                                                  out["early_retries"])
            out.update(seconds=round(seconds, 2),
                       records_per_s=round(out["records"] / seconds))
            results[f"{processes}_worker_processes"] = out
            rows.append((f"{processes} worker process(es)", out["records"], out["seconds"],
                         out["records_per_s"], f"{out['agencies_exact']}/{len(codes)}",
                         out["retries"], out["early_retries"]))
        c.drop_pg_database("rightshub_bench_provinces")
    c.print_table(f"Pull: {len(codes)} provinces at once (PostgreSQL, faults "
                  f"{ERROR:.0%}/{RATE_429:.0%}/{DROP:.0%})",
                  ("layout", "records", "seconds", "records/s", "exact", "retries",
                   "early retries"), rows)
    c.write_results("pull_provinces", {
        "provinces": len(codes), "records_per_province": RECORDS, "page_size": PAGE_SIZE,
        "faults": {"error_rate": ERROR, "rate_429": RATE_429, "drop_rate": DROP,
                   "retry_after_s": 1}, "results": results})
