"""Fault injection: the real hub (``rightshub serve``) on loopback, killed, starved of its
database, or put on read-only / full storage, with clients that retry the way the API guide
tells agencies to (same ``Idempotency-Key``, back off on 5xx and connection errors).

Helpers: a fresh migrated and seeded database (SQLite file or PostgreSQL database), a hub
process that can be SIGKILLed and restarted on the same port, batch builders, the change feed
and record listing walked to the end, and problem-details checks. Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub import Settings
from hub._migrate import upgrade
from tests.conftest import (
    CALLERS,
    REQUIRE_PG,
    _create_pg_database,
    _drop_pg_database,
    _seed,
    token,
)
from tests.integration import RIGHTSHUB, child_env, free_port

PG_CLUSTER = ("15", "main")
PROBLEM_JSON = "application/problem+json"


def dev_principals() -> str:
    return json.dumps([
        {"token": token(name), "agency": agency, "client_id": client, "scopes": scopes}
        for name, (agency, client, scopes) in CALLERS.items()
    ])


def hub_env(database_url: str, port: int) -> dict[str, str]:
    env = child_env(database_url=database_url, environment="development",
                    port=str(port), log_level="warning")
    env["RIGHTSHUB_DEV_PRINCIPALS"] = dev_principals()
    return env


def prepare_database(database_url: str) -> None:
    """What ``rightshub db upgrade`` and ``rightshub seed`` do (the same functions), run in
    this process: two CLI start-ups cost ~5 s a database, and tests/integration/test_cli.py
    already runs the commands themselves."""
    settings = Settings(database_url=database_url, environment="test")
    upgrade(settings)
    asyncio.run(_seed(settings))


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    url = _create_pg_database()
    if url is None:
        if REQUIRE_PG:
            pytest.fail("PostgreSQL is required (RIGHTSHUB_REQUIRE_POSTGRES=1) but unreachable")
        pytest.skip("PostgreSQL unreachable")
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):
            wait_for_postgres(30)
            _drop_pg_database(url)


def wait_for_postgres(timeout: float) -> None:
    import psycopg

    from tests.conftest import _pg_admin_url

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(_pg_admin_url(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class HubProcess:
    """``rightshub serve --no-demo`` on a fixed port; SIGKILL and restart at will."""

    def __init__(self, database_url: str, cwd: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = hub_env(database_url, self.port)
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, *, wait_for: str = "/readyz", timeout: float = 30) -> None:
        assert self.process is None or self.process.poll() is not None
        self.starts += 1
        log = (self.cwd / f"server-{self.starts}.log").open("wb")
        with log:
            self.process = subprocess.Popen(
                [RIGHTSHUB, "serve", "--no-demo", "--port", str(self.port)], cwd=self.cwd,
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.wait(wait_for, timeout)

    def wait(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"the hub exited with {self.process.returncode}:\n"
                                     f"{self.log()}")
            try:
                response = httpx.get(self.base_url + path, timeout=3)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.05)
        raise AssertionError(f"{path} not 200 after {timeout} s (last: {last})\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, open transactions die with the process."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return "\n".join(
            path.read_text(encoding="utf-8", errors="replace")[-4000:]
            for path in sorted(self.cwd.glob("server-*.log"))
        )


@contextlib.contextmanager
def hub_process(database_url: str, cwd: Path) -> Iterator[HubProcess]:
    hub = HubProcess(database_url, cwd)
    try:
        hub.start()
        yield hub
    finally:
        hub.stop()


def product(source_id: str) -> dict[str, Any]:
    return {"source_id": source_id, "kind": "book", "title": f"Sách về quyền con người {source_id}",
            "languages": ["vie"], "themes": ["vn_policy_law"]}


def batch_body(prefix: str, start: int, size: int) -> bytes:
    """A batch's exact bytes: a retry must send the same body under the same key."""
    records = [product(f"{prefix}-{i:06d}") for i in range(start, start + size)]
    return json.dumps({"records": records}, ensure_ascii=False).encode()


def headers(name: str = "g16", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(name)}", "Content-Type": "application/json",
            **extra}


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A clear RFC 9457 problem in both languages, one of ``statuses``, no stack trace."""
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith("urn:rightshub:problem:")
    for key in ("title", "detail", "detail_vi", "detail_en"):
        assert isinstance(body[key], str) and body[key].strip(), (key, body)
    for leak in ("Traceback", 'File "', "sqlalchemy", "asyncpg", "sqlite3", "[SQL:"):
        assert leak not in response.text, response.text
    return body


def all_changes(client: httpx.Client, name: str = "g16") -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    after = "0"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get("/v1/changes", params={"after": after, "limit": 1000},
                          headers=headers(name))
        assert page.status_code == 200, page.text
        body = page.json()
        changes.extend(body["changes"])
        if not body["has_more"]:
            return changes
        after = body["next_cursor"]
    raise AssertionError("the change feed did not end within 60 s")


def all_records(client: httpx.Client, record_type: str = "products",
                name: str = "g16") -> list[dict[str, Any]]:
    """Every record of ``record_type`` through keyset pages."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = client.get(f"/v1/{record_type}", params=params, headers=headers(name))
        assert page.status_code == 200, page.text
        body = page.json()
        items.extend(body["items"])
        if not body["next_cursor"]:
            return items
        params["cursor"] = body["next_cursor"]
    raise AssertionError("listing did not end within 60 s")


def db_scalars(database_url: str, *queries: str) -> list[Any]:
    """Run read-only ``queries`` straight on the database (sqlite3 or psycopg)."""
    if database_url.startswith("sqlite"):
        import sqlite3

        path = database_url.split(":///", 1)[1]
        conn = sqlite3.connect(path, timeout=30)
        try:
            return [conn.execute(q).fetchone()[0] for q in queries]
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(database_url, connect_timeout=5) as pg:
        return [pg.execute(q).fetchone()[0] for q in queries]  # type: ignore[index]
