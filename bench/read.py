"""Read: ``GET /v1/products?limit=50`` at 64 connections with wrk (2 threads), the hub on 1
and 2 server processes, beside bare FastAPI endpoints returning the same 50 rows through
asyncpg and through a psycopg 3 async pool, in the same run. The hub runs as in production
(rate limits checked, an OAuth2 token: :data:`PRODUCTION_LIKE`), and its 1-process run is
profiled with py-spy once more after it is measured.

The hub and bare asyncpg are measured in alternation, :data:`ROUNDS` times each with both
servers up, and the ratio is the median of the rounds' ratios: on this shared machine one
10-second run of either was seen to lose half its rate to a burst of load the other did not
see (2 processes: 356, 749 and 416 req/s in three runs of the same code)."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from typing import Any

import httpx

import auth
from bench import _bulk, _profile
from bench import _common as c

DB = "rightshub_bench_read"
ROWS = 10_000
CONNECTIONS = 64
THREADS = 2
DURATION = int(os.environ.get("BENCH_READ_SECONDS", "10"))
WARMUP = 2
ROUNDS = int(os.environ.get("BENCH_READ_ROUNDS", "3"))
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNIT[unit]


def wrk(url: str, headers: dict[str, str], seconds: int = DURATION) -> dict[str, Any]:
    cmd = [c.ensure_wrk(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
           "--timeout", "10s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = {
        "req_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))),  # type: ignore[union-attr]
    }
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = round(_ms(m.group(1)), 1) if m else None
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["socket_errors"] = errors.group(1) if errors else None
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    transfer = re.search(r"Transfer/sec:\s+(\S+)", out)
    result["transfer_per_s"] = transfer.group(1) if transfer else None
    return result


# As in production: rate limits checked on every request (per IP before routing, per client
# after authentication), at limits this one load generator never reaches in a run, and an
# OAuth2 access token (ES256) from the hub's own token endpoint, not a development token.
PRODUCTION_LIKE = {"RIGHTSHUB_RATE_LIMIT_CLIENT": "10000000/hour",
                   "RIGHTSHUB_RATE_LIMIT_IP": "10000000/hour"}


def oauth_client(database_url: str) -> tuple[str, str]:
    """A reading client of the bench agency: ``rightshub clients create``; (id, secret)."""
    out = subprocess.run(
        [c.RIGHTSHUB, "clients", "create", "--agency", c.BENCH_AGENCY, "--name", "bench read",
         "--scopes", "records:read", "--json"],
        env=c.hub_env(database_url), cwd=c.ROOT, check=True, capture_output=True, text=True,
    ).stdout
    created = json.loads(out.strip().splitlines()[-1])
    return created["client_id"], created["client_secret"]


def access_token(base: str, client: tuple[str, str]) -> dict[str, str]:
    """The Authorization header of a client-credentials token from the hub under test."""
    answer = httpx.post(f"{base}{auth.TOKEN_PATH}", data={"grant_type": "client_credentials"},
                        auth=client, timeout=10)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _measure(url: str, headers: dict[str, str]) -> dict[str, Any]:
    wrk(url, headers, WARMUP)
    return wrk(url, headers)


def _alternating(hub: tuple[str, dict[str, str]], bare: str) -> dict[str, Any]:
    """The hub and bare asyncpg in turn, ROUNDS times: each one's median round (by req/s,
    with that round's latencies), every round, and the median of the rounds' ratios."""
    wrk(*hub, WARMUP)
    wrk(bare, {}, WARMUP)
    rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for _ in range(ROUNDS):
        rounds.append((wrk(*hub), wrk(bare, {})))

    def middle(runs: list[dict[str, Any]]) -> dict[str, Any]:
        return sorted(runs, key=lambda r: r["req_per_s"])[len(runs) // 2]

    ratios = [round(h["req_per_s"] / b["req_per_s"], 2) for h, b in rounds]
    return {"hub": {**middle([h for h, _ in rounds]),
                    "rounds_req_per_s": [h["req_per_s"] for h, _ in rounds]},
            "bare": {**middle([b for _, b in rounds]),
                     "rounds_req_per_s": [b["req_per_s"] for _, b in rounds]},
            "ratios": ratios, "ratio": c.median(ratios)}


PROFILE_SECONDS = 10


def _profiled(pid: int, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """The 1-process hub under the same load, once more under py-spy: collapsed stacks for
    the table of where a request's time goes, and a flame graph (SVG) kept beside the
    results. Not measured for req/s (py-spy takes some of the machine)."""
    raw = c.CACHE / "read-1p.pyspy.txt"
    flame = c.ROOT / "bench" / "results" / "read-1p-flamegraph.svg"
    for out, fmt in ((raw, "raw"), (flame, "flamegraph")):
        spy = _profile.record(pid, out, PROFILE_SECONDS, fmt=fmt, rate=200)
        wrk(url, headers, PROFILE_SECONDS)
        spy.wait(timeout=60)
    return {"raw": str(raw.relative_to(c.ROOT)), "flamegraph": str(flame.relative_to(c.ROOT)),
            **_profile.summarise(raw)}


def run(*, profile: bool = True) -> dict[str, Any]:
    c.console.rule(f"read: GET /v1/products?limit=50, wrk {THREADS} threads × "
                   f"{CONNECTIONS} connections, {DURATION} s")
    c.ensure_wrk()
    url = c.recreate_pg_database(DB)
    c.fresh_hub_database(url)
    load = _bulk.load(url, ROWS)
    client = oauth_client(url)
    results: dict[str, Any] = {"rows_in_table": ROWS, "connections": CONNECTIONS,
                               "threads": THREADS, "seconds": DURATION, "load": load,
                               "hub_settings": PRODUCTION_LIKE, "hub_auth": "OAuth2 ES256",
                               "runs": {}}
    runs = results["runs"]
    try:
        for workers in (1, 2):
            env = {"BENCH_BARE_DATABASE_URL": url}
            with (c.hub_server(url, workers=workers, env=PRODUCTION_LIKE) as (base, pid),
                  c.asgi_server("bench.bare_app:app", env, workers=workers) as (bare, _pid)):
                hub = (f"{base}/v1/products?limit=50", access_token(base, client))
                pair = _alternating(hub, f"{bare}/asyncpg")
                runs[f"hub_rest_{workers}p"] = pair["hub"]
                runs[f"bare_asyncpg_{workers}p"] = pair["bare"]
                results[f"ratios_hub_to_bare_asyncpg_{workers}p"] = pair["ratios"]
                results[f"ratio_hub_to_bare_asyncpg_{workers}p"] = pair["ratio"]
                runs[f"bare_psycopg_{workers}p"] = _measure(f"{bare}/psycopg", {})
                if profile and workers == 1:
                    results["profile_hub_rest_1p"] = _profiled(pid, *hub)
    finally:
        c.drop_pg_database(DB)
    for workers in (1, 2):
        results[f"ratio_asyncpg_to_psycopg_{workers}p"] = round(
            runs[f"bare_asyncpg_{workers}p"]["req_per_s"]
            / runs[f"bare_psycopg_{workers}p"]["req_per_s"], 2)
    names = {"hub_rest": "hub GET /v1/products?limit=50", "bare_asyncpg": "bare FastAPI + asyncpg",
             "bare_psycopg": "bare FastAPI + psycopg 3 pool"}
    rows = []
    for key, label in names.items():
        for workers in (1, 2):
            r = runs[f"{key}_{workers}p"]
            rows.append((label, workers, r["req_per_s"], r["p50_ms"], r["p99_ms"],
                         r["non_2xx"], r["socket_errors"] or "0"))
    c.print_table(f"read: 50 products a page (hub and bare asyncpg: median of {ROUNDS} "
                  "alternating rounds)",
                  ["endpoint", "processes", "req/s", "p50 ms", "p99 ms", "non-2xx",
                   "socket errors"], rows)
    c.print_table("hub / bare asyncpg, each round and the median",
                  ["processes", "rounds", "median"],
                  [(w, " · ".join(str(r) for r in results[f"ratios_hub_to_bare_asyncpg_{w}p"]),
                    results[f"ratio_hub_to_bare_asyncpg_{w}p"]) for w in (1, 2)])
    if "profile_hub_rest_1p" in results:
        prof = results["profile_hub_rest_1p"]
        c.print_table("where a request's time goes (hub, 1 process, py-spy self samples)",
                      ["part", "% of samples"], list(prof["parts_self_pct"].items()))
    c.write_results("read", results)
    return results


def main(args: argparse.Namespace) -> None:
    run(profile=not args.no_profile)
