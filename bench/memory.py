"""Memory: ``rightshub import`` of an NDJSON file of products into a fresh SQLite database, on
a 100,000-record prefix and on the whole file (``--size``, default 150,000; the file is
generated once into bench/.cache). Peak RSS of the CLI process is sampled from /proc
(VmHWM, the kernel's high-water mark, polled every 50 ms); it should stay flat as the file
grows."""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import orjson

from bench import _common as c
from bench._data import products

SMALL = 100_000
DEFAULT_LARGE = 150_000  # 1,000,000 takes ~10 min at the measured rate: --size 1000000


def ndjson(n: int) -> Path:
    """products-<n>.ndjson in the cache; the small file is the large file's prefix."""
    c.CACHE.mkdir(parents=True, exist_ok=True)
    path = c.CACHE / f"products-{n}.ndjson"
    if path.exists():
        return path
    t0 = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        for item in products(n):
            f.write(orjson.dumps(item) + b"\n")
    tmp.replace(path)
    c.console.print(f"generated {path.relative_to(c.ROOT)} ({path.stat().st_size / 1e6:.0f} MB) "
                    f"in {time.perf_counter() - t0:.0f} s")
    return path


def _status(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    fields[key] = int(value.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return fields


def import_file(path: Path, n: int) -> dict[str, Any]:
    url = c.fresh_sqlite(f"memory-{n}.db")
    c.fresh_hub_database(url)
    cmd = [c.RIGHTSHUB, "import", str(path), "-t", "products", "-a", c.BENCH_AGENCY]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=c.hub_env(url), cwd=c.ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    peak = 0
    samples: list[tuple[float, int]] = []
    while proc.poll() is None:
        status = _status(proc.pid)
        if status:
            peak = max(peak, status.get("VmHWM", 0))
            samples.append((round(time.perf_counter() - t0, 1), status.get("VmRSS", 0)))
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"import failed ({proc.returncode}):\n{output[-2000:]}")
    # RSS over time, thinned to ~20 points, to see whether it grows with the file.
    step = max(1, len(samples) // 20)
    for suffix in ("", "-wal", "-shm"):
        Path(url.split("///", 1)[1] + suffix).unlink(missing_ok=True)
    return {"records": n, "seconds": round(elapsed, 1), "records_per_s": round(n / elapsed),
            "peak_rss_mib": round(peak / 2**20, 1),
            "rss_timeline_mib": [(t, round(r / 2**20)) for t, r in samples[::step]]}


def run(size: int | None = None) -> dict[str, Any]:
    large = size or int(os.environ.get("BENCH_MEMORY_SIZE", DEFAULT_LARGE))
    c.console.rule(f"memory: rightshub import of {SMALL:,} and {large:,} products (SQLite)")
    big = ndjson(large)
    small = c.CACHE / f"products-{SMALL}-prefix.ndjson"
    if not small.exists():
        with open(big, "rb") as src, open(small, "wb") as dst:
            for _, line in zip(range(SMALL), src, strict=False):
                dst.write(line)
    results: dict[str, Any] = {"small": import_file(small, SMALL),
                               "large": import_file(big, large)}
    results["ratio_peak_rss_large_to_small"] = round(
        results["large"]["peak_rss_mib"] / results["small"]["peak_rss_mib"], 2)
    c.print_table(
        "memory: peak RSS of `rightshub import` (NDJSON → SQLite)",
        ["file", "seconds", "records/s", "peak RSS MiB"],
        [(f"{r['records']:,} records", r["seconds"], r["records_per_s"], r["peak_rss_mib"])
         for r in (results["small"], results["large"])],
    )
    c.console.print(f"peak RSS ratio {large:,}/{SMALL:,}: "
                    f"[bold]{results['ratio_peak_rss_large_to_small']}[/bold] (flat ≈ 1.0)")
    c.write_results("memory", results)
    return results


def main(args: argparse.Namespace) -> None:
    run(args.size)
