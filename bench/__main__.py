"""``python -m bench SCENARIO|all``: see docs/benchmarks.md."""

from __future__ import annotations

import argparse
import importlib
import time

from bench import _common as c

# Scenario name -> module under bench/ with ``main(args: argparse.Namespace)``; ``all`` runs them
# in this order. Each later issue adds its scenario here (keep ``make bench`` under 15 minutes).
SCENARIOS: dict[str, str] = {
    "ingest": "bench.ingest",
    "read": "bench.read",
    "memory": "bench.memory",
    "scale": "bench.scale",
    "pull": "bench.pull",  # pull connectors: records/s from agency simulators
    "pull-provinces": "bench.pull_provinces",  # 34 provinces at once, faults, 1-2 workers
    "delivery": "bench.delivery",
    "propagation": "bench.propagation",
    "graphql": "bench.graphql",
    "archive": "bench.archive",
    "console": "bench.console",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenario", choices=(*SCENARIOS, "all"))
    parser.add_argument("--size", type=int, default=None,
                        help="memory: records of the large file (default BENCH_MEMORY_SIZE or "
                             "150,000); "
                             "scale: the large size (default BENCH_SCALE_SIZE or 1,000,000); "
                             "archive: the file in MiB (default 2048)")
    parser.add_argument("--no-profile", action="store_true",
                        help="ingest: do not sample the server with py-spy during the "
                             "PostgreSQL push")
    args = parser.parse_args()
    chosen = SCENARIOS if args.scenario == "all" else (args.scenario,)
    started = time.perf_counter()
    for name in chosen:
        t0 = time.perf_counter()
        importlib.import_module(SCENARIOS[name]).main(args)
        c.console.print(f"[dim]{name}: {time.perf_counter() - t0:.0f} s[/dim]")
    c.console.print(f"[bold]bench {args.scenario}: {time.perf_counter() - started:.0f} s[/bold]")


if __name__ == "__main__":
    main()
