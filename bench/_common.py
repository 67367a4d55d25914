"""Shared helpers: paths, machine facts, result files, the real server, PostgreSQL databases."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
CACHE = BENCH / ".cache"
BIN = Path(sys.executable).parent
RIGHTSHUB = str(BIN / "rightshub")

PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
BENCH_AGENCY = "G16"
BENCH_TOKEN = "bench-token-g16-0123456789abcdef"
BENCH_CLIENT = "bench-g16"

console = Console(soft_wrap=True)


def pg_url(database: str) -> str:
    return f"{PG_SERVER}/{database}"


def machine() -> dict[str, Any]:
    mem_kib = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    pg_version = None
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "postgresql": pg_version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        # Other work on the machine skews every figure: the load when the result was written.
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def write_results(scenario: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{scenario}.json"
    doc = {
        "scenario": scenario,
        "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "machine": machine(),
        **payload,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    console.print(f"wrote {path.relative_to(ROOT)}")
    return path


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(_fmt(v) for v in row))
    console.print(table)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- PostgreSQL databases -------------------------------------------------------------------


def recreate_pg_database(name: str) -> str:
    """Drop and create an empty database on the local server; returns its URL."""
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


LOOPBACK_ALLOW = "127.0.0.0/8"


def hub_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "RIGHTSHUB_ENVIRONMENT": "development",
        "RIGHTSHUB_DATABASE_URL": database_url,
        "RIGHTSHUB_LOG_LEVEL": "warning",
        # A load generator is one client on one IP: the rate limits would answer it 429.
        "RIGHTSHUB_RATE_LIMIT_CLIENT": "",
        "RIGHTSHUB_RATE_LIMIT_IP": "",
        # The simulators and subscribers a bench starts listen on loopback.
        "RIGHTSHUB_OUTBOUND_ALLOW": LOOPBACK_ALLOW,
        "RIGHTSHUB_DEV_PRINCIPALS": json.dumps([{
            "token": BENCH_TOKEN, "agency": BENCH_AGENCY, "client_id": BENCH_CLIENT,
            "scopes": ["records:read", "records:write", "changes:read"],
        }]),
    }
    env.update(extra)
    return env


def rightshub(database_url: str, *args: str) -> None:
    """Run the real CLI (``rightshub db upgrade``, ``rightshub seed``...) quietly."""
    subprocess.run([RIGHTSHUB, *args], env=hub_env(database_url), cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def fresh_hub_database(database_url: str) -> None:
    """Migrate and seed the reference data: ``rightshub db upgrade`` + ``rightshub seed``."""
    rightshub(database_url, "db", "upgrade")
    rightshub(database_url, "seed")


def fresh_sqlite(name: str) -> str:
    CACHE.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (CACHE / f"{name}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{CACHE / name}"


def auth_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {BENCH_TOKEN}"}


@contextlib.contextmanager
def hub_server(database_url: str, *, workers: int = 1,
               env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """The real server, ``rightshub serve --no-demo``, on a free port; yields (base URL, pid).
    ``env``: settings over :func:`hub_env`'s."""
    port = free_port()
    cmd = [RIGHTSHUB, "serve", "--no-demo", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers)]
    with _process(cmd, hub_env(database_url, **(env or {})), port) as (base, pid):
        yield base, pid


@contextlib.contextmanager
def _process(cmd: list[str], env: dict[str, str], port: int,
             ready_path: str = "/healthz") -> Iterator[tuple[str, int]]:
    log = (CACHE / f"server-{port}.log")
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited ({proc.returncode}); see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + ready_path, timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after 60 s; see {log}")
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        # The server is the leader of its own session: stop it and its workers, nothing else.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def asgi_server(app: str, env: dict[str, str], *, workers: int = 1) -> Iterator[tuple[str, int]]:
    """Any ASGI app under uvicorn (used for the bare FastAPI endpoints)."""
    port = free_port()
    cmd = [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    with _process(cmd, {**os.environ, **env}, port, ready_path="/healthz") as started:
        yield started


def ensure_wrk() -> str:
    """wrk (Debian package); installed with apt-get when missing, and said so."""
    found = shutil.which("wrk")
    if found:
        return found
    console.print("[yellow]wrk is missing: installing the Debian package (apt-get update; "
                  "apt-get install -y wrk)[/yellow]")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed")
    return found


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
