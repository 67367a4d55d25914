"""``python -m bench {ingest,read,memory,scale,all}``: see docs/benchmarks.md."""

from __future__ import annotations

import argparse
import time

from bench import _common as c

SCENARIOS = ("ingest", "read", "memory", "scale")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenario", choices=(*SCENARIOS, "all"))
    parser.add_argument("--size", type=int, default=None,
                        help="memory: records of the large file (default BENCH_MEMORY_SIZE or "
                             "200,000); "
                             "scale: the large size (default BENCH_SCALE_SIZE or 1,000,000)")
    parser.add_argument("--no-profile", action="store_true",
                        help="ingest: do not sample the server with py-spy during the "
                             "PostgreSQL push")
    args = parser.parse_args()
    chosen = SCENARIOS if args.scenario == "all" else (args.scenario,)
    started = time.perf_counter()
    for name in chosen:
        t0 = time.perf_counter()
        if name == "ingest":
            from bench import ingest

            ingest.run(profile=not args.no_profile)
        elif name == "read":
            from bench import read

            read.run()
        elif name == "memory":
            from bench import memory

            memory.run(args.size)
        else:
            from bench import scale

            scale.run(args.size)
        c.console.print(f"[dim]{name}: {time.perf_counter() - t0:.0f} s[/dim]")
    c.console.print(f"[bold]bench {args.scenario}: {time.perf_counter() - started:.0f} s[/bold]")


if __name__ == "__main__":
    main()
