"""Ingest: 100,000 products through ``POST /v1/products:batch`` (1,000 a batch, 4 concurrent
clients in this process; the real server in its own, one process then two) into PostgreSQL and
SQLite, the re-push of identical data, and, in the same run, the ceilings: the same rows written
straight into the hub's ``records`` table with psycopg ``executemany`` upsert and with
COPY-staging."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

import schemas
from bench import _common as c
from bench import _profile
from bench._data import products
from hub._prepare import prepare
from hub.tables import new_record_id

BATCH = 1000
CLIENTS = 4
PG_DB = "rightshub_bench_ingest"
# The push again against two server processes: about a minute more, so not in `make bench`
# (its 15-minute budget); BENCH_INGEST_TWO_PROCESSES=1 adds it.
TWO_PROCESSES = os.environ.get("BENCH_INGEST_TWO_PROCESSES") == "1"
CEILING_DB = "rightshub_bench_ceiling"

COLUMNS = ("id", "record_type", "owner_agency", "source_id", "kind", "version", "content_hash",
           "visibility", "deleted", "title", "title_folded", "search_text", "primary_date",
           "data", "provenance", "created_at", "updated_at", "seq")
UPDATABLE = [col for col in COLUMNS
             if col not in ("id", "record_type", "owner_agency", "source_id", "created_at")]
CONFLICT = "(owner_agency, record_type, source_id)"
SET = ", ".join(f"{col} = EXCLUDED.{col}" for col in UPDATABLE)
UPSERT = (f"INSERT INTO records ({', '.join(COLUMNS)}) "
          f"VALUES ({', '.join(['%s'] * len(COLUMNS))}) ON CONFLICT {CONFLICT} DO UPDATE SET {SET}")
STAGE_INSERT = (f"INSERT INTO records ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} "
                f"FROM stage ON CONFLICT {CONFLICT} DO UPDATE SET {SET}")


def batch_bodies(n: int, variant: int = 0) -> list[bytes]:
    items = list(products(n, variant=variant))
    return [orjson.dumps({"records": items[i : i + BATCH]}) for i in range(0, n, BATCH)]


async def push(base: str, bodies: list[bytes], clients: int = CLIENTS) -> dict[str, Any]:
    """Push every body with ``clients`` concurrent connections, each batch under its own
    Idempotency-Key and retried (same key) on 503 or a dropped connection, as an agency client
    would; returns rate, outcomes and retries."""
    run_id = uuid.uuid4().hex[:12]
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for item in enumerate(bodies):
        queue.put_nowait(item)
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    retries = 0
    headers = {**c.auth_headers(), "Content-Type": "application/json"}

    async def send(http: httpx.AsyncClient, number: int, body: bytes) -> dict[str, Any]:
        nonlocal retries
        key = {"Idempotency-Key": f"bench-{run_id}-{number}"}
        for attempt in range(10):
            try:
                r = await http.post("/v1/products:batch", content=body, headers=key)
                if r.status_code != 503:
                    r.raise_for_status()
                    return dict(r.json())
            except httpx.TransportError:
                if attempt == 9:
                    raise
            retries += 1
            await asyncio.sleep(1)
        raise RuntimeError("batch still failing after 10 attempts")

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=300, headers=headers) as http:
            while not queue.empty():
                number, body = queue.get_nowait()
                t0 = time.perf_counter()
                summary = await send(http, number, body)
                latencies.append(time.perf_counter() - t0)
                if summary["rejected"]:
                    raise RuntimeError(f"bench data rejected: {summary['rejections'][:2]}")
                for key in ("created", "updated", "unchanged", "deleted", "rejected"):
                    outcomes[key] += summary[key]

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - start
    total = sum(outcomes[k] for k in ("created", "updated", "unchanged", "deleted", "rejected"))
    return {
        "records": total, "seconds": round(elapsed, 2),
        "records_per_s": round(total / elapsed), "outcomes": dict(outcomes),
        "batch_p50_ms": round(c.median(latencies) * 1000),
        "batch_max_ms": round(max(latencies) * 1000), "retries": retries,
    }


def ceiling_rows(n: int) -> list[tuple[Any, ...]]:
    """The hub's ``records`` rows for the same products, prepared before any timing, with ids
    made as the hub makes them (time-ordered, ``hub.tables.new_record_id``)."""
    prepared, rejections = prepare(
        schemas.RECORD_TYPES["products"], list(products(n)), schemas.vocabulary_codes()
    )
    assert not rejections, rejections[:3]
    now = datetime.now(UTC)
    provenance = orjson.dumps({"channel": "push", "client": "bench", "batch": None}).decode()
    return [
        (new_record_id(), "products", c.BENCH_AGENCY, p.source_id, p.kind, 1, p.content_hash,
         p.visibility, False, p.title, p.title_folded, p.search_text, p.primary_date,
         orjson.dumps(p.data).decode(), provenance, now, now, seq)
        for seq, p in enumerate(prepared, start=1)
    ]


def _timed(fn: Any, rows: list[tuple[Any, ...]], conn: Any) -> dict[str, Any]:
    conn.execute("TRUNCATE records CASCADE")
    conn.execute("CHECKPOINT")
    start = time.perf_counter()
    fn(conn, rows)
    elapsed = time.perf_counter() - start
    (count,) = conn.execute("SELECT count(*) FROM records").fetchone()
    assert count == len(rows), (count, len(rows))
    return {"records": len(rows), "seconds": round(elapsed, 2),
            "records_per_s": round(len(rows) / elapsed)}


def _executemany(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    for i in range(0, len(rows), BATCH):
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(UPSERT, rows[i : i + BATCH])


def _copy_stage(conn: Any, rows: list[tuple[Any, ...]], chunk: int) -> None:
    for i in range(0, len(rows), chunk):
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE stage (LIKE records) ON COMMIT DROP")
            with cur.copy(f"COPY stage ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows[i : i + chunk]:
                    copy.write_row(row)
            cur.execute(STAGE_INSERT)


def ceilings(n: int) -> dict[str, Any]:
    """Straight into PostgreSQL: the hub's ``records`` table (all its indexes, trigram GIN
    included), empty before each run, a fresh migrated database."""
    import psycopg

    url = c.recreate_pg_database(CEILING_DB)
    c.fresh_hub_database(url)
    rows = ceiling_rows(n)
    gc.freeze()  # keep the 100k prepared rows out of the collector, as a server would
    out: dict[str, Any] = {}
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            out["executemany_1000"] = _timed(_executemany, rows, conn)
            out["copy_staging"] = _timed(lambda cn, r: _copy_stage(cn, r, len(r)), rows, conn)
            out["copy_staging_1000"] = _timed(lambda cn, r: _copy_stage(cn, r, BATCH), rows, conn)
    finally:
        gc.unfreeze()
        c.drop_pg_database(CEILING_DB)
    return out


def rest_ingest(url: str, bodies: list[bytes], again: list[bytes], profile: Path | None,
                *, workers: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {"server_processes": workers}
    with c.hub_server(url, workers=workers) as (base, pid):
        spy = _profile.record(pid, profile, 600) if profile is not None else None
        out["push_new"] = asyncio.run(push(base, bodies))
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes what it has and exits
            spy.wait(timeout=60)
        out["repush_unchanged"] = asyncio.run(push(base, again))
    return out


def run(n: int = 100_000, *, profile: bool = True) -> dict[str, Any]:
    n = int(os.environ.get("BENCH_INGEST_RECORDS", n))
    c.console.rule(f"ingest: {n:,} products, batches of {BATCH}, {CLIENTS} clients")
    bodies = batch_bodies(n)
    results: dict[str, Any] = {"records": n, "batch": BATCH, "clients": CLIENTS}

    pg_url = c.recreate_pg_database(PG_DB)
    c.fresh_hub_database(pg_url)
    prof_path = c.CACHE / "ingest-pg.pyspy.txt" if profile else None
    results["rest_postgresql"] = rest_ingest(pg_url, bodies, bodies, prof_path)
    if TWO_PROCESSES:
        # The same push against two server processes: preparing records (validation, folding,
        # hashing) is CPU-bound Python, one core per process.
        pg_url = c.recreate_pg_database(PG_DB)
        c.fresh_hub_database(pg_url)
        results["rest_postgresql_2_processes"] = rest_ingest(pg_url, bodies, bodies, None,
                                                             workers=2)
    c.drop_pg_database(PG_DB)
    if prof_path is not None and prof_path.exists():
        results["profile_rest_postgresql"] = {
            "tool": "py-spy 100 Hz, server process, during push_new",
            "raw": str(prof_path.relative_to(c.ROOT)), **_profile.summarise(prof_path),
        }

    sqlite_url = c.fresh_sqlite("ingest.db")
    c.fresh_hub_database(sqlite_url)
    results["rest_sqlite"] = rest_ingest(sqlite_url, bodies, bodies, None)
    del bodies
    gc.collect()

    results["ceilings_postgresql"] = ceilings(n)
    stage = results["ceilings_postgresql"]["copy_staging"]["records_per_s"]
    rest = results["rest_postgresql"]["push_new"]["records_per_s"]
    results["ratio_rest_to_copy_staging"] = round(rest / stage, 3)
    if TWO_PROCESSES:
        rest2 = results["rest_postgresql_2_processes"]["push_new"]["records_per_s"]
        results["ratio_rest_2_processes_to_copy_staging"] = round(rest2 / stage, 3)

    ceil = results["ceilings_postgresql"]
    rows = [
        ("REST → PostgreSQL, new", results["rest_postgresql"]["push_new"]),
        ("REST → PostgreSQL, re-push unchanged", results["rest_postgresql"]["repush_unchanged"]),
        *([("REST → PostgreSQL, 2 server processes, new",
            results["rest_postgresql_2_processes"]["push_new"]),
           ("REST → PostgreSQL, 2 server processes, re-push",
            results["rest_postgresql_2_processes"]["repush_unchanged"])]
          if TWO_PROCESSES else []),
        ("REST → SQLite, new", results["rest_sqlite"]["push_new"]),
        ("REST → SQLite, re-push unchanged", results["rest_sqlite"]["repush_unchanged"]),
        ("psycopg executemany upsert, 1,000/tx", ceil["executemany_1000"]),
        ("COPY → staging → INSERT…SELECT, 1 tx", ceil["copy_staging"]),
        ("COPY → staging → INSERT…SELECT, 1,000/tx",
         results["ceilings_postgresql"]["copy_staging_1000"]),
    ]
    c.print_table(
        f"ingest of {n:,} products (records/s)",
        ["path", "records", "seconds", "records/s", "vs COPY-staging"],
        [(name, r["records"], r["seconds"], r["records_per_s"],
          f"{r['records_per_s'] / stage:.2f}×") for name, r in rows],
    )
    ratio = results["ratio_rest_to_copy_staging"]
    c.console.print(f"REST/COPY-staging on PostgreSQL: [bold]{ratio:.2f}[/bold] (goal ≥ 0.5)")
    if TWO_PROCESSES:
        c.console.print(f"with 2 server processes [bold]"
                        f"{results['ratio_rest_2_processes_to_copy_staging']:.2f}[/bold]")
    if "profile_rest_postgresql" in results:
        prof = results["profile_rest_postgresql"]
        c.print_table("REST ingest profile (server, inclusive % of samples)",
                      ["function", "%"], list(prof["inclusive_pct"].items()))
    c.write_results("ingest", results)
    return results


def main(args: argparse.Namespace) -> None:
    run(profile=not args.no_profile)
