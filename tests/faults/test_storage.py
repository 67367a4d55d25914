"""Read-only and full storage: a push gets a clear problem (503 read-only, 507 full; never a
500, never a stack trace), reads keep working, the data already there is intact, and writes
work again once the storage is writable or has room.

SQLite: the database lives on a small tmpfs mounted for the test (we run as root, so chmod
would not stop the hub from writing: root ignores file modes). ``mount -o remount,ro`` makes
it truly read-only and a tiny ``size=`` makes it full. A remount to read-only is refused
while a process holds a file open for writing, so the hub is SIGKILLed (its -wal and -shm
files stay, which a read-only WAL database needs) and started again on the read-only
storage; once remounted read-write, the same hub process takes writes again. Where
mounting is not permitted these tests are skipped with the reason.

PostgreSQL: ``ALTER DATABASE ... SET default_transaction_read_only = on`` applies to new
connections; the hub's pooled connections are ended with ``pg_terminate_backend`` so the next
checkout reconnects (pool_pre_ping) under the new setting.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults import (
    HubProcess,
    assert_problem,
    batch_body,
    db_scalars,
    headers,
    pg_database,
    prepare_database,
)


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30,
                          check=False)


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): "
                    "read-only / full storage not simulated")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30,
                       check=False)


def remount(path: Path, options: str) -> None:
    result = _mount("-o", f"remount,{options}", str(path))
    assert result.returncode == 0, result.stderr


def push(client: httpx.Client, key: str, body: bytes) -> httpx.Response:
    return client.post("/v1/products:batch", content=body,
                       headers=headers(**{"Idempotency-Key": key}))


def count(client: httpx.Client) -> int:
    total, params = 0, {"limit": 200}
    for _ in range(100):
        page = client.get("/v1/products", params=params, headers=headers())
        assert page.status_code == 200, page.text
        total += len(page.json()["items"])
        if not page.json()["next_cursor"]:
            return total
        params["cursor"] = page.json()["next_cursor"]
    raise AssertionError("listing did not end")


def integrity(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_sqlite_read_only_storage(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "store", "64m") as store:
        url = f"sqlite:///{store / 'hub.db'}"
        prepare_database(url)
        hub = HubProcess(url, tmp_path)
        try:
            hub.start()
            with httpx.Client(base_url=hub.base_url, timeout=30) as client:
                for n in range(2):
                    assert push(client, f"ro-{n}", batch_body("RO", n * 100, 100)
                                ).status_code == 200
            hub.kill()
            assert (store / "hub.db-wal").exists() and (store / "hub.db-shm").exists()
            remount(store, "ro")

            hub.start()  # reads only at start-up: /readyz is 200 on read-only storage
            with httpx.Client(base_url=hub.base_url, timeout=30) as client:
                refused = push(client, "ro-2", batch_body("RO", 200, 100))
                body = assert_problem(refused, 503)
                assert body["reason"] == "read-only"
                assert "read-only" in body["detail_en"] and "chỉ đọc" in body["detail_vi"]
                assert int(refused.headers["retry-after"]) > 0
                one = client.put("/v1/products/RO-000999", headers=headers(),
                                 json={"kind": "book", "title": "x", "languages": ["vie"]})
                assert_problem(one, 503)
                assert count(client) == 200
                changes = client.get("/v1/changes", params={"limit": 1000}, headers=headers())
                assert changes.status_code == 200 and len(changes.json()["changes"]) == 200

                # Writable again: the same hub, not restarted, takes the write (its
                # connections opened read-only are replaced after one more refusal).
                remount(store, "rw")
                for _ in range(3):
                    again = push(client, "ro-2", batch_body("RO", 200, 100))  # key not used
                    if again.status_code != 503:
                        break
                    assert_problem(again, 503)
                assert again.status_code == 200, again.text
                assert again.json()["created"] == 100
                assert count(client) == 300
            hub.stop()
            assert integrity(store / "hub.db") == "ok"
        finally:
            hub.stop()


def test_sqlite_full_storage(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "store", "4m") as store:
        url = f"sqlite:///{store / 'hub.db'}"
        prepare_database(url)
        hub = HubProcess(url, tmp_path)
        try:
            hub.start()
            created = 0
            with httpx.Client(base_url=hub.base_url, timeout=30) as client:
                for n in range(60):  # ~2 MB of free room: full after a handful of batches
                    answer = push(client, f"full-{n}", batch_body("FULL", n * 500, 500))
                    if answer.status_code != 200:
                        break
                    created += answer.json()["created"]
                else:
                    raise AssertionError("the 4 MB tmpfs never filled up")
                body = assert_problem(answer, 507)
                assert body["reason"] == "storage-full"
                assert "full" in body["detail_en"] and "hết dung lượng" in body["detail_vi"]
                assert int(answer.headers["retry-after"]) > 0
                # Nothing of the failed batch was kept; everything acknowledged is readable.
                assert count(client) == created > 0
                assert client.get("/readyz").status_code == 200

                remount(store, "size=64m")
                retry = push(client, f"full-{n}", batch_body("FULL", n * 500, 500))
                assert retry.status_code == 200, retry.text
                assert retry.json()["created"] == 500
                assert count(client) == created + 500
            hub.stop()
            assert integrity(store / "hub.db") == "ok"
            assert db_scalars(url, "SELECT count(*) FROM record_changes") == [created + 500]
        finally:
            hub.stop()


def _pg_exec(url: str, *statements: str) -> None:
    import psycopg

    from tests.conftest import _pg_admin_url

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_pg_admin_url(), autocommit=True, connect_timeout=5) as conn:
        for statement in statements:
            conn.execute(statement.replace("{db}", name))


TERMINATE = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = '{db}' AND pid <> pg_backend_pid()")


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        prepare_database(url)
        yield url


def test_postgres_read_only_database(pg_url: str, tmp_path: Path) -> None:
    hub = HubProcess(pg_url, tmp_path)
    try:
        hub.start()
        with httpx.Client(base_url=hub.base_url, timeout=30) as client:
            assert push(client, "pgro-0", batch_body("PGRO", 0, 100)).status_code == 200

            _pg_exec(pg_url, 'ALTER DATABASE "{db}" SET default_transaction_read_only = on',
                     TERMINATE)
            for attempt in range(3):  # each is refused the same way, from any connection
                refused = push(client, "pgro-1", batch_body("PGRO", 100, 100))
                body = assert_problem(refused, 503)
                assert body["reason"] == "read-only", (attempt, body)
                assert "chỉ đọc" in body["detail_vi"]
            assert count(client) == 100
            assert client.get("/readyz").status_code == 200

            _pg_exec(pg_url, 'ALTER DATABASE "{db}" RESET default_transaction_read_only')
            # The hub's pooled sessions were opened read-only: a write that meets one is
            # refused once more and drops them (hub._db); the client's retry goes through.
            for _ in range(3):
                again = push(client, "pgro-1", batch_body("PGRO", 100, 100))
                if again.status_code != 503:
                    break
                assert_problem(again, 503)
            assert again.status_code == 200, again.text
            assert again.json()["created"] == 100
            assert count(client) == 200
    finally:
        hub.stop()
        with contextlib.suppress(Exception):
            _pg_exec(pg_url, 'ALTER DATABASE "{db}" RESET default_transaction_read_only')
