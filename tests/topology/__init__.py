"""The multi-process topology (issue 21): gateways and workers as separate ``rightshub``
processes on one PostgreSQL database and one Redis, the way production runs them.

Helpers: the processes' shared environment (one secret key, Redis-backed rate limits, short
leases so a killed worker's work is taken over within seconds), a worker process that can be
SIGKILLed, a loopback subscriber that records every delivery it receives (checking each
request's signature), and SQL read straight from the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import connectors
from tests.integration import RIGHTSHUB, child_env

SECRET_KEY = "topology-secret-key-0123456789abcdef-0123456789"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_up() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1):
            return True
    except OSError:
        return False


def topology_env(database_url: str, redis_db: int, principals: list[dict[str, Any]],
                 client_limit: str) -> dict[str, str]:
    """What every gateway and worker of the topology is started with. The IP limit is off:
    every test client shares 127.0.0.1; the per-client limit is the one under test."""
    env = child_env(
        database_url=database_url, environment="development", log_level="warning",
        secret_key=SECRET_KEY, database_pool_size="4", max_page_size="1000",
        rate_limit_storage=f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
        rate_limit_client=client_limit, rate_limit_ip="",
        worker_in_process="false", worker_poll_seconds="0.2", worker_lease_seconds="4",
        delivery_lease_seconds="6", delivery_wait_seconds="0.5",
        delivery_backoff_base_seconds="0.2", delivery_backoff_max_seconds="2",
    )
    env["RIGHTSHUB_DEV_PRINCIPALS"] = json.dumps(principals)
    return env


class WorkerProcess:
    """``rightshub worker`` with a fixed worker id, in its own process group."""

    def __init__(self, worker_id: str, env: dict[str, str], cwd: Path) -> None:
        self.id = worker_id
        self.env = {**env, "RIGHTSHUB_WORKER_ID": worker_id}
        self.cwd = cwd
        self.log_path = cwd / f"{worker_id}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [RIGHTSHUB, "worker"], cwd=self.cwd, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no lease is released, no outcome recorded."""
        if self.alive():
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]


@dataclass(frozen=True, slots=True)
class Received:
    at: float  # time.monotonic() when the request arrived
    subscription_id: str
    delivery_id: str
    events: list[tuple[str, int]]  # (event_id, seq)


@dataclass
class Subscriber:
    """A loopback endpoint for push deliveries (a thread of this process): it checks the
    HMAC signature of each request against its subscription's secret, records it, and
    answers 204. It never fails on purpose: any duplicate it sees comes from the hub."""

    secrets: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/events"

    def start(self) -> None:
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = subscriber._take(body, self.headers.get(connectors.SIGNATURE_HEADER,
                                                                 ""))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _take(self, body: bytes, signature: str) -> int:
        payload = json.loads(body)
        secret = self.secrets.get(payload.get("subscription_id", ""))
        if secret is None or not connectors.verify_delivery(secret, signature, body):
            with self._lock:
                self.refused += 1
            return 401
        item = Received(time.monotonic(), payload["subscription_id"], payload["delivery_id"],
                        [(e["event_id"], e["seq"]) for e in payload["events"]])
        with self._lock:
            self.received.append(item)
        return 204

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def of(self, subscription_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.subscription_id == subscription_id]


def sql(database_url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read-only query, straight from PostgreSQL."""
    import psycopg

    with psycopg.connect(database_url, connect_timeout=5) as conn:
        return list(conn.execute(query, params or None).fetchall())  # type: ignore[arg-type]
