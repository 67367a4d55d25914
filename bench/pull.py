"""Pull: records per second that pull connectors bring in from agency simulators
(``rightshub simulate-agency``, no faults, no latency) through the ingest pipeline, with one
agency and with ten agencies at once (ten simulators, ten connectors run concurrently by one
worker), on SQLite and on PostgreSQL. Sizes: ``BENCH_PULL_RECORDS`` (default 10,000) for one
agency, a fifth of it per agency for ten. Pages of 500 records; the hub runs in this process,
each simulator in its own."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx

import connectors
from bench import _common as c
from hub import Hub, Settings

RECORDS = int(os.environ.get("BENCH_PULL_RECORDS", "10000"))
PAGE_SIZE = 500
SECRET = "bi-mat-mo-phong-0123456789"
AGENCIES = ("08", "01", "04", "11", "12", "14", "15", "19", "20", "22")  # provinces


@contextlib.contextmanager
def _simulators(sizes: list[int]) -> Iterator[list[str]]:
    """One simulator per size, started together (each its own process and session)."""
    c.CACHE.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    bases = []
    try:
        for n, records in enumerate(sizes):
            port = c.free_port()
            with open(c.CACHE / f"simulator-{port}.log", "wb") as out:
                procs.append(subprocess.Popen(
                    [c.RIGHTSHUB, "simulate-agency", "--port", str(port), "--records",
                     str(records), "--seed", str(n + 1), "--client-secret", SECRET],
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        for base in bases:
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


async def _pull(url: str, bases: list[str], agencies: tuple[str, ...]) -> dict[str, Any]:
    hub = Hub(Settings(database_url=url, environment="development",
                    outbound_allow=["127.0.0.0/8"], log_level="warning"))
    try:
        ids = []
        async with hub.db.transaction() as session:
            for agency, base in zip(agencies, bases, strict=True):
                config = connectors.demo_connector_config(base, page_size=PAGE_SIZE)
                info = await connectors.create_connector(
                    hub, session, agency=agency, name=f"bench {agency}", kind="rest",
                    config=config, secrets=connectors.Secrets.model_validate(
                        {"client_secret": SECRET}))
                ids.append(info.id)
        worker = connectors.Worker(hub, concurrency=len(ids), deliveries=False)
        started = time.perf_counter()
        await worker.run_once()
        elapsed = time.perf_counter() - started
        runs = [(await connectors.list_runs(hub, cid))[0] for cid in ids]
        failed = [r for r in runs if r["status"] != "succeeded"]
        if failed:
            raise RuntimeError(f"runs failed: {[r['errors'] for r in failed]}")
        created = sum(r["created"] for r in runs)
        return {"agencies": len(ids), "records": created, "seconds": round(elapsed, 2),
                "records_per_s": round(created / elapsed), "pages": sum(r["pages"] for r in runs)}
    finally:
        await hub.close()


def main(args: argparse.Namespace) -> None:
    results: dict[str, Any] = {}
    rows = []
    per_agency = RECORDS // 5
    with _simulators([RECORDS] + [per_agency] * 10) as bases:
        for backend in ("sqlite", "postgresql"):
            url = (c.fresh_sqlite("rightshub_bench_pull.db") if backend == "sqlite"
                   else c.recreate_pg_database("rightshub_bench_pull"))
            c.fresh_hub_database(url)
            # One agency, then ten others at once (their own records: nothing is unchanged).
            for agencies, sims in ((("G16",), bases[:1]), (AGENCIES, bases[1:])):
                count = len(agencies)
                c.console.print(f"pull: {count} agencies, {backend}…")
                out = asyncio.run(_pull(url, sims, agencies))
                results[f"{backend}_{count}_agencies"] = out
                rows.append((f"{backend}, {count} agencies", out["records"], out["seconds"],
                             out["records_per_s"]))
            if backend == "postgresql":
                c.drop_pg_database("rightshub_bench_pull")
    c.print_table("Pull connectors (simulator → ingest pipeline)",
                  ("scenario", "records", "seconds", "records/s"), rows)
    c.write_results("pull", {"page_size": PAGE_SIZE, "records_one_agency": RECORDS,
                             "records_per_agency_of_ten": per_agency, "results": results})
