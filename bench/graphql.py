"""GraphQL: 50 products with their agencies, at 64 connections with wrk (2 threads), through
the hub's ``/graphql``, beside the same page through the hub's REST (``GET
/v1/products?limit=50``) and through PostGraphile v5 pointed at the same PostgreSQL tables, in
the same run: one server process each, and with ``BENCH_GRAPHQL_TWO_PROCESSES=1`` two
processes each (the hub's uvicorn workers; PostGraphile in library mode under Node's cluster
module, as its CLI has no workers option).
All are measured in turn, 3 rounds of 3 s each, and the medians reported (the machine's load
changes by the minute; each round sees the same).

PostGraphile is installed from npm into ``bench/.cache/postgraphile`` on first use (the
machine's Node 20 needs a ``Promise.withResolvers`` polyfill, loaded with ``node --require``;
its driver needs the PostgreSQL user named in the connection string). It exposes the tables
as they are: the product fields live in the ``data`` JSONB column, the agency comes through
the ``records.owner_agency`` foreign key. It applies none of the hub's visibility rules (no
row-level security is defined); the hub's two endpoints do.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import _bulk
from bench import _common as c
from bench.read import PRODUCTION_LIKE, _ms, access_token, oauth_client

DB = "rightshub_bench_graphql"
ROWS = 2_000
CONNECTIONS = 64
THREADS = 2
DURATION = int(os.environ.get("BENCH_GRAPHQL_SECONDS", "3"))  # per endpoint and round
ROUNDS = 3
# Also two processes each: about 40 s more, so not in `make bench` (its 15-minute budget);
# BENCH_GRAPHQL_TWO_PROCESSES=1 adds it.
TWO_PROCESSES = os.environ.get("BENCH_GRAPHQL_TWO_PROCESSES") == "1"
WARMUP = 2
POSTGRAPHILE_VERSION = "5.1.5"
PG_DIR = c.CACHE / "postgraphile"

HUB_QUERY = """{ products(first: 50) { nodes { id sourceId title kind publisher
  publicationYear languages themes updatedAt agency { code name } } } }"""
# ``deleted`` has no index, so PostGraphile offers no condition on it; the bench rows are
# all live, so both queries read the same 50 rows.
PG_QUERY = """{ allRecords(first: 50, condition: {recordType: "products"}, orderBy: SEQ_DESC) {
  nodes { rowId sourceId title kind data updatedAt agencyByOwnerAgency { code name } } } }"""

POLYFILL = """// Node 20 lacks Promise.withResolvers (Node 22+), which PostGraphile 5 calls.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
"""
CLUSTER = """// Written by bench/graphql.py: N PostGraphile processes sharing one port
// (Node's cluster module), library mode, with the CLI's preset (Amber).
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const [url, port, workers] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", () => process.exit(1));
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers)) worker.kill();
    process.exit(0);
  });
} else {
  const pgl = postgraphile({
    extends: [PostGraphileAmberPreset],
    pgServices: [makePgService({ connectionString: url, schemas: ["public"] })],
    grafserv: { graphiql: false, watch: false },
  });
  const server = createServer();
  await pgl.createServ(grafserv).addTo(server);
  server.listen(port, "127.0.0.1");
}
"""
CONFIG = """// Written by bench/graphql.py: PostGraphile's own defaults (the Amber preset).
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
export default {
  extends: [PostGraphileAmberPreset],
  grafserv: { graphiql: false, watch: false },
};
"""


def ensure_postgraphile() -> Path:
    """``npm install postgraphile@VERSION`` into the cache once; returns its CLI script."""
    cli = PG_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    PG_DIR.mkdir(parents=True, exist_ok=True)
    (PG_DIR / "polyfill.cjs").write_text(POLYFILL)
    (PG_DIR / "graphile.config.mjs").write_text(CONFIG)
    (PG_DIR / "cluster.mjs").write_text(CLUSTER)
    installed = PG_DIR / "node_modules" / "postgraphile" / "package.json"
    if not installed.is_file() or orjson.loads(installed.read_bytes())["version"] \
            != POSTGRAPHILE_VERSION:
        c.console.print(f"installing postgraphile@{POSTGRAPHILE_VERSION} from npm into "
                        f"{PG_DIR.relative_to(c.ROOT)}")
        if not (PG_DIR / "package.json").is_file():
            (PG_DIR / "package.json").write_text(
                '{"name": "rightshub-bench-postgraphile", "private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                        f"postgraphile@{POSTGRAPHILE_VERSION}"], cwd=PG_DIR, check=True)
    return cli


@contextlib.contextmanager
def postgraphile(database_url: str, workers: int = 1) -> Iterator[tuple[str, int]]:
    """PostGraphile's CLI, or ``workers`` processes of it under Node's cluster module."""
    cli = ensure_postgraphile()
    port = c.free_port()
    log = c.CACHE / f"postgraphile-{port}.log"
    cmd = ["node", "--require", str(PG_DIR / "polyfill.cjs"), str(cli),
           "-C", str(PG_DIR / "graphile.config.mjs"), "-c", database_url, "-s", "public",
           "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        cmd = ["node", "--require", str(PG_DIR / "polyfill.cjs"), str(PG_DIR / "cluster.mjs"),
               database_url, str(port), str(workers)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=PG_DIR, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "NODE_ENV": "production"},
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"postgraphile exited ({proc.returncode}); see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.post(url, json={"query": "{ __typename }"}, timeout=2).status_code \
                        == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgraphile not ready after 60 s; see {log}")
            time.sleep(0.3)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _post_script(name: str, query: str) -> Path:
    body = orjson.dumps({"query": query}).decode()
    script = c.CACHE / f"wrk-{name}.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = {orjson.dumps(body).decode()}\n")
    return script


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its children (``/proc``): a server of
    several processes (uvicorn's workers, Node's cluster) counts as one."""
    proc = Path(f"/proc/{pid}")
    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = {int(child) for task in proc.glob("task/*/children")
                for child in task.read_text().split()}
    return own + sum(cpu_seconds(child) for child in children)


def wrk(url: str, headers: dict[str, str], script: Path | None, seconds: int,
        pid: int | None = None) -> dict[str, Any]:
    """wrk with its default 2 s time-out (time-outs counted and reported, not hidden).
    ``pid``: the server process, whose CPU time per request is reported too (a figure the
    machine's other load disturbs less than req/s)."""
    cpu_before = cpu_seconds(pid) if pid is not None else 0.0
    cmd = [c.ensure_wrk(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency",
           "--timeout", "2s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result: dict[str, Any] = {"req_per_s": round(float(found.group(1))) if found else None}
    total = re.search(r"(\d+) requests in", out)
    result["cpu_ms_per_request"] = (
        round((cpu_seconds(pid) - cpu_before) * 1000 / int(total.group(1)), 2)
        if pid is not None and total and int(total.group(1)) else None)
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = round(_ms(m.group(1)), 1) if m else None
    timeouts = re.search(r"Socket errors: .*timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["timeouts"] = int(timeouts.group(1)) if timeouts else 0
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    return result


def _check(url: str, headers: dict[str, str], query: str | None, path: list[str]) -> int:
    """One request by hand: 50 items must come back; returns the response size."""
    response = (httpx.post(url, json={"query": query}, headers=headers, timeout=30) if query
                else httpx.get(url, headers=headers, timeout=30))
    response.raise_for_status()
    body = response.json()
    assert not body.get("errors"), body.get("errors")
    for key in path:
        body = body[key]
    assert len(body) == 50, f"{url}: {len(body)} items"
    return len(response.content)


def _combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Median req/s, p50 and p99 over the rounds; time-outs and non-2xx answers summed."""
    out: dict[str, Any] = {
        key: c.median([r[key] for r in rounds if r[key] is not None])
        for key in ("req_per_s", "p50_ms", "p99_ms", "cpu_ms_per_request")
        if any(r.get(key) is not None for r in rounds)
    }
    out["req_per_s_rounds"] = [r["req_per_s"] for r in rounds]
    out["timeouts"] = sum(r["timeouts"] for r in rounds)
    out["non_2xx"] = sum(r["non_2xx"] for r in rounds)
    return out


def run() -> dict[str, Any]:
    c.console.rule(f"graphql: 50 products with their agencies, wrk {THREADS} threads × "
                   f"{CONNECTIONS} connections, {ROUNDS} rounds of {DURATION} s each")
    c.ensure_wrk()
    ensure_postgraphile()
    url = c.recreate_pg_database(DB)
    c.fresh_hub_database(url)
    load = _bulk.load(url, ROWS, log=lambda *_: None)
    results: dict[str, Any] = {"rows_in_table": ROWS, "connections": CONNECTIONS,
                               "threads": THREADS, "seconds_per_round": DURATION,
                               "rounds": ROUNDS, "load": load,
                               "hub_query": HUB_QUERY, "postgraphile_query": PG_QUERY,
                               "postgraphile_version": POSTGRAPHILE_VERSION,
                               "hub_settings": PRODUCTION_LIKE, "hub_auth": "OAuth2 ES256",
                               "runs": {}}
    runs = results["runs"]
    client = oauth_client(url)  # the hub as in production: see bench.read.PRODUCTION_LIKE
    try:
        # All three servers run side by side and are measured in turn, round after round: on
        # a shared machine the load changes by the minute, and each round sees the same load.
        with contextlib.ExitStack() as servers:
            base, hub_pid = servers.enter_context(
                c.hub_server(url, workers=1, env=PRODUCTION_LIKE))
            auth = access_token(base, client)
            pg_url, pg_pid = servers.enter_context(postgraphile(url))
            hub_script, pg_script = _post_script("hub", HUB_QUERY), _post_script("pg", PG_QUERY)
            hub_nodes, pg_nodes = ["data", "products", "nodes"], ["data", "allRecords", "nodes"]
            targets = {
                "hub_graphql": (f"{base}/graphql", auth, hub_script, HUB_QUERY, hub_nodes,
                                hub_pid),
                "hub_rest": (f"{base}/v1/products?limit=50", auth, None, None, ["items"],
                             hub_pid),
                "postgraphile": (pg_url, {}, pg_script, PG_QUERY, pg_nodes, pg_pid),
            }
            if TWO_PROCESSES:
                base2, hub2_pid = servers.enter_context(
                    c.hub_server(url, workers=2, env=PRODUCTION_LIKE))
                pg2_url, pg2_pid = servers.enter_context(postgraphile(url, workers=2))
                targets["hub_graphql_2"] = (f"{base2}/graphql", auth, hub_script, HUB_QUERY,
                                            hub_nodes, hub2_pid)
                targets["postgraphile_2"] = (pg2_url, {}, pg_script, PG_QUERY, pg_nodes,
                                             pg2_pid)
            sizes = {k: _check(t[0], t[1], t[3], t[4]) for k, t in targets.items()}
            for target_url, headers, script, _q, _p, _pid in targets.values():
                wrk(target_url, headers, script, WARMUP)
            measured: dict[str, list[dict[str, Any]]] = {k: [] for k in targets}
            for _ in range(ROUNDS):
                for key, (target_url, headers, script, _q, _p, pid) in targets.items():
                    measured[key].append(wrk(target_url, headers, script, DURATION, pid))
            for key, rounds in measured.items():
                runs[key] = _combine(rounds)
    finally:
        c.drop_pg_database(DB)
    results["response_bytes"] = sizes
    pairs = [("hub_graphql", "postgraphile", "", "1 process each")]
    if TWO_PROCESSES:
        pairs.append(("hub_graphql_2", "postgraphile_2", "_2_processes", "2 processes each"))
    for hub_key, pg_key, suffix, _name in pairs:
        hub_run, pg_run = runs[hub_key], runs[pg_key]
        results[f"ratio_hub_graphql_to_postgraphile{suffix}"] = round(
            hub_run["req_per_s"] / pg_run["req_per_s"], 2)
        results[f"ratio_cpu_per_request_postgraphile_to_hub_graphql{suffix}"] = round(
            pg_run["cpu_ms_per_request"] / hub_run["cpu_ms_per_request"], 2)
    labels = {"hub_graphql": "hub POST /graphql (Strawberry), 1 process",
              "hub_rest": "hub GET /v1/products?limit=50, 1 process",
              "postgraphile": f"PostGraphile {POSTGRAPHILE_VERSION} (Node), 1 process",
              "hub_graphql_2": "hub POST /graphql, 2 processes",
              "postgraphile_2": "PostGraphile, 2 processes (Node cluster)"}
    rows = [(label, runs[k]["req_per_s"], runs[k]["p50_ms"], runs[k]["p99_ms"],
             runs[k]["cpu_ms_per_request"], runs[k]["timeouts"], runs[k]["non_2xx"], sizes[k])
            for k, label in labels.items() if k in runs]
    c.print_table("graphql: 50 products with their agencies",
                  ["endpoint", "req/s", "p50 ms", "p99 ms", "server CPU ms/req", "time-outs",
                   "non-2xx", "bytes"], rows)
    for _hub, _pg, suffix, name in pairs:
        c.console.print(
            f"hub GraphQL / PostGraphile, {name}: "
            f"{results[f'ratio_hub_graphql_to_postgraphile{suffix}']} req/s (goal ≥ 1); CPU "
            f"per request, PostGraphile / hub: "
            f"{results[f'ratio_cpu_per_request_postgraphile_to_hub_graphql{suffix}']}")
    c.write_results("graphql", results)
    return results


def main(args: argparse.Namespace) -> None:
    run()
