"""Read-only and full storage: a push gets a clear problem (503 read-only, 507 full; never a
500, never a stack trace), reads keep working, the data already there is intact, and writes
work again once the storage is writable or has room.

SQLite: the database lives on a small tmpfs mounted for the test (we run as root, so chmod
would not stop the hub from writing: root ignores file modes). ``mount -o remount,ro`` makes
it truly read-only and a tiny ``size=`` makes it full. A remount to read-only is refused
while a process holds a file open for writing, so the hub is SIGKILLed (its -wal and -shm
files stay, which a read-only WAL database needs) and started again on the read-only
storage; once remounted read-write, a restarted hub takes writes again (the process that ran
on read-only storage keeps refusing: its connections share SQLite's wal-index, opened
read-only). A full disk: the same hub process takes writes once there is room. Where
mounting is not permitted these tests are skipped with the reason.

PostgreSQL: ``ALTER DATABASE ... SET default_transaction_read_only = on`` applies to new
connections; the hub's pooled connections are ended with ``pg_terminate_backend`` so the next
checkout reconnects (hub._db sees the closed connection) under the new setting. A full disk is
a tablespace on a small tmpfs owned by the server's user, holding every table and index of the
test database (catalogs and WAL stay on the main disk, so the server itself keeps running),
until "could not extend file" (SQLSTATE 53100) refuses a batch; a remount with a larger
``size=`` makes room.
"""

from __future__ import annotations

import contextlib
import pwd
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REQUIRE_PG
from tests.faults import (
    HubProcess,
    all_changes,
    all_records,
    assert_problem,
    batch_body,
    db_scalars,
    headers,
    pg_database,
    prepare_database,
    product,
    wait_for_postgres,
)


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30,
                          check=False)


@contextlib.contextmanager
def tmpfs(path: Path, size: str, options: str = "mode=0755") -> Iterator[Path]:
    path.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", f"size={size},{options}", "tmpfs", str(path))
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

            # Writable again: a restarted hub takes the write. (Not the same process: its
            # connections to the file share SQLite's wal-index, opened read-only, and a
            # connection aiosqlite dropped after a refused write can stay open, so the
            # process keeps refusing. Documented in docs/exchange-api.md.)
            remount(store, "rw")
            hub.stop()
            hub.start()
            with httpx.Client(base_url=hub.base_url, timeout=30) as client:
                again = push(client, "ro-2", batch_body("RO", 200, 100))  # key not used
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
    name = url.rsplit("/", 1)[1]
    _pg_admin(*(statement.replace("{db}", name) for statement in statements))


def _pg_admin(*statements: str, database_url: str | None = None) -> None:
    """``statements`` in autocommit (CREATE / DROP TABLESPACE refuse a transaction block), on
    the server's admin database or on ``database_url``."""
    import psycopg

    from tests.conftest import _pg_admin_url

    url = database_url or _pg_admin_url()
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        for statement in statements:
            conn.execute(statement)


# With a time-out, pg_terminate_backend returns once the backend has gone (asynchronous without).
TERMINATE = ("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
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


@contextlib.contextmanager
def pg_tablespace(size: str) -> Iterator[tuple[str, Path]]:
    """A PostgreSQL tablespace (name, mount point) on a tmpfs of ``size``. The server writes
    there as its own user, so that user owns the mount, reached through a 0711 directory
    under the system temp dir (pytest's tmp_path is private to root). The databases using it
    must be dropped before it is: on exit it is dropped, then unmounted."""
    import psycopg

    try:
        server = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no local postgres user: the PostgreSQL server cannot be given a tmpfs "
                    "here, full disk not simulated")
    base = Path(tempfile.mkdtemp(prefix="rightshub-pgfull-"))
    base.chmod(0o711)
    name = f"rightshub_full_{uuid.uuid4().hex[:10]}"
    try:
        with tmpfs(base / "space", size,
                   f"mode=0700,uid={server.pw_uid},gid={server.pw_gid}") as space:
            try:
                _pg_admin(f"CREATE TABLESPACE {name} LOCATION '{space}'")
            except psycopg.Error as exc:
                if exc.sqlstate is None and REQUIRE_PG:  # no connection at all
                    pytest.fail(f"PostgreSQL is required but unreachable ({exc})")
                pytest.skip(f"no tablespace on a tmpfs ({exc}): full disk not simulated")
            try:
                # The server creates PG_<version>_<catalog> in the location: if it is not in
                # our tmpfs, the server runs elsewhere (another host or mount namespace).
                if not any(space.iterdir()):
                    pytest.skip("the PostgreSQL server does not see this machine's mounts: "
                                "full disk not simulated")
                yield name, space
            finally:
                with contextlib.suppress(Exception):
                    wait_for_postgres(30)  # other tests restart the server
                    _pg_admin(f"DROP TABLESPACE IF EXISTS {name}")
    finally:
        with contextlib.suppress(OSError):
            (base / "space").rmdir()
            base.rmdir()


def test_postgres_full_disk(tmp_path: Path) -> None:
    with pg_tablespace("16m") as (tablespace, mount), pg_database() as url:
        prepare_database(url)
        # Every table and index (their TOAST with them) into the tiny tablespace: records,
        # changes, idempotency answers, the change-feed counter all need room for a batch.
        _pg_admin(f"ALTER TABLE ALL IN TABLESPACE pg_default SET TABLESPACE {tablespace}",
                  f"ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE {tablespace}",
                  database_url=url)
        assert db_scalars(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                               f"AND tablespace IS DISTINCT FROM '{tablespace}'") == [0]
        hub = HubProcess(url, tmp_path)
        try:
            hub.start()
            acknowledged: list[str] = []

            def check_intact(client: httpx.Client) -> None:
                # Exactly the acknowledged records, their content, and a change feed with one
                # change each and no gap in seq (seq is handed out in the committing
                # transaction, so a refused batch must not leave a hole).
                records = all_records(client)
                assert sorted(r["source_id"] for r in records) == sorted(acknowledged)
                assert all(r["data"]["title"] == product(r["source_id"])["title"]
                           for r in records)
                changes = all_changes(client)
                assert [c["seq"] for c in changes] == list(range(1, len(acknowledged) + 1))
                assert sorted(c["record"]["source_id"] for c in changes) == sorted(acknowledged)
                assert all(c["op"] == "upsert" and c["record"]["version"] == 1 for c in changes)

            with httpx.Client(base_url=hub.base_url, timeout=30) as client:
                for n in range(40):  # ~15 MB of room: full after a handful of batches
                    body = batch_body("PGFULL", n * 500, 500)
                    answer = push(client, f"pgfull-{n}", body)
                    if answer.status_code != 200:
                        break
                    assert answer.json()["created"] == 500
                    acknowledged += [f"PGFULL-{i:06d}" for i in range(n * 500, n * 500 + 500)]
                else:
                    raise AssertionError("the 16 MB tablespace never filled up")
                assert acknowledged, "full before the first batch: the tablespace is too small"
                # "could not extend file": 507, and the client's retry is refused the same way
                # while there is no room (the refusal is not kept under its Idempotency-Key).
                for refused in (answer, push(client, f"pgfull-{n}", body)):
                    problem = assert_problem(refused, 507)
                    assert problem["reason"] == "storage-full"
                    assert "full" in problem["detail_en"]
                    assert "hết dung lượng" in problem["detail_vi"]
                    assert int(refused.headers["retry-after"]) > 0
                # Reads keep working on the full database.
                assert client.get("/readyz").status_code == 200
                check_intact(client)

                remount(mount, "size=64m")
                retry = push(client, f"pgfull-{n}", body)  # the same hub, not restarted
                assert retry.status_code == 200, retry.text
                assert retry.json()["created"] == 500
                acknowledged += [f"PGFULL-{i:06d}" for i in range(n * 500, n * 500 + 500)]
                replay = push(client, f"pgfull-{n}", body)
                assert replay.status_code == 200 and replay.json() == retry.json()
                check_intact(client)
            hub.stop()
            assert db_scalars(
                url,
                "SELECT count(*) FROM records",
                "SELECT count(*) FROM record_changes",
                "SELECT count(*) FROM idempotency_keys",
                "SELECT (SELECT max(seq) FROM record_changes)"
                " = (SELECT last_seq FROM hub_locks WHERE name = 'change_feed')",
            ) == [len(acknowledged), len(acknowledged), n + 1, True]
        finally:
            hub.stop()
