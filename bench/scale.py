"""Scale: the list page, diacritic-insensitive searches and a change-feed page at 100,000
records and at a large size (``--size`` or ``BENCH_SCALE_SIZE``; 10,000,000 is the goal, the
default for ``make bench`` is 1,000,000), bulk-generated with COPY into the hub's tables.
Latency is the median of ``BENCH_SCALE_REQUESTS`` (default 21) sequential requests through
the real server, after 3 warm-up requests; the goal is a large/small ratio under 2."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any
from urllib.parse import quote

import httpx

from bench import _bulk
from bench import _common as c
from bench._data import isbn13

SMALL = 100_000
DEFAULT_LARGE = 1_000_000
REQUESTS = int(os.environ.get("BENCH_SCALE_REQUESTS", "21"))


def _queries(n: int) -> dict[str, str]:
    return {
        "list_first_page": "/v1/products?limit=50",
        "list_second_page": "/v1/products?limit=50&cursor={cursor}",
        "search_common_words": "/v1/products?limit=50&q=" + quote("quyền trẻ em"),
        "search_rare_phrase": "/v1/products?limit=50&q=" + quote("Điện Biên"),
        "search_isbn": "/v1/products?limit=50&q=" + isbn13(n // 2),
        "changes_page": f"/v1/changes?after={n // 2}&limit=100",
    }


def _measure(http: httpx.Client, path: str) -> dict[str, Any]:
    times: list[float] = []
    count = 0
    for i in range(REQUESTS + 3):
        t0 = time.perf_counter()
        r = http.get(path)
        elapsed = time.perf_counter() - t0
        r.raise_for_status()
        if i >= 3:
            times.append(elapsed)
        body = r.json()
        count = len(body.get("items", body.get("changes", [])))
    return {"median_ms": round(c.median(times) * 1000, 1),
            "min_ms": round(min(times) * 1000, 1), "items": count}


def measure_size(n: int) -> dict[str, Any]:
    db = f"rightshub_bench_scale_{n}"
    url = c.recreate_pg_database(db)
    c.fresh_hub_database(url)
    c.console.print(f"scale: generating {n:,} records with COPY…")
    load = _bulk.load(url, n, log=c.console.print)
    c.console.print(f"  generated in {load['total_s']} s")
    out: dict[str, Any] = {"load": load, "latency": {}}
    try:
        with c.hub_server(url) as (base, _pid), httpx.Client(
            base_url=base, headers=c.auth_headers(), timeout=120
        ) as http:
            first = http.get("/v1/products?limit=50").json()
            for name, path in _queries(n).items():
                path = path.format(cursor=first["next_cursor"])
                out["latency"][name] = _measure(http, path)
    finally:
        c.drop_pg_database(db)
    return out


def run(size: int | None = None) -> dict[str, Any]:
    large = size or int(os.environ.get("BENCH_SCALE_SIZE", DEFAULT_LARGE))
    c.console.rule(f"scale: {SMALL:,} and {large:,} records in PostgreSQL")
    small_r = measure_size(SMALL)
    large_r = measure_size(large)
    results: dict[str, Any] = {"sizes": [SMALL, large], "requests": REQUESTS,
                               "small": small_r, "large": large_r, "ratios": {}}
    rows = []
    for name, s in small_r["latency"].items():
        big = large_r["latency"][name]
        ratio = round(big["median_ms"] / s["median_ms"], 2)
        results["ratios"][name] = ratio
        rows.append((name, s["median_ms"], big["median_ms"], ratio,
                     "yes" if ratio < 2 else "NO", f"{s['items']}/{big['items']}"))
    c.print_table(f"scale: median latency (ms), {SMALL:,} vs {large:,} records",
                  ["request", f"{SMALL:,}", f"{large:,}", "ratio", "< 2", "items"], rows)
    c.console.print(f"generation: {SMALL:,} in {small_r['load']['total_s']} s, "
                    f"{large:,} in {large_r['load']['total_s']} s")
    c.write_results("scale", results)
    return results


def main(args: argparse.Namespace) -> None:
    run(args.size)
