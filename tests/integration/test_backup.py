"""``rightshub backup`` and ``rightshub restore`` as an operator runs them (SQLite and
PostgreSQL): a hub with agencies, records, audit entries and archived files is backed up,
restored into a new empty database and empty storage, and the copy holds the same rows, the
same bytes, and passes ``audit verify`` and ``archive verify``. A changed object, a changed
manifest, another secret key and a non-empty target are refused with nothing restored."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from gateway import create_app
from hub import Hub
from hub._migrate import upgrade
from hub._seed import seed_reference
from tests._cli import run_cli
from tests.api._helpers import product
from tests.archive.conftest import pdf_bytes, png_bytes, sha
from tests.archive.test_resume_server import moto_server
from tests.conftest import PG_SERVER, REQUIRE_PG, auth, make_settings
from tests.integration import RIGHTSHUB, child_env
from tests.integration.test_cli import Run

SECRET = "backup-test-secret-key-0123456789abcdefghij"
# Compared row for row between the source and the restored copy: table -> (columns, order).
# ``stored_files.verified_at`` is left out: the restore's own archive check sets it.
TABLES = {
    "agencies": ("*", "code"),
    "records": ("*", "id"),
    "record_changes": ("*", "seq"),
    "audit_log": ("*", "seq"),
    "stored_files": ("sha256, size, media_type, created_at, removed_at", "sha256"),
    "record_files": ("*", "id"),
    "vocabulary_terms": ("*", "vocabulary, code"),
}


@dataclass
class Site:
    """One installation: its database and its archive directory."""

    url: str
    archive: Path
    storage: dict[str, str] = field(default_factory=dict)  # RIGHTSHUB_ARCHIVE_* for S3

    def run(self, *args: str, cwd: Path, secret: str = SECRET, path: str | None = None,
            process: bool = False) -> Run:
        """``rightshub ARGS`` for this installation: in this process (tests/_cli.py), or as
        a real subprocess with ``process`` (one per command, proving the entry point)."""
        env = child_env(database_url=self.url, archive_dir=str(self.archive),
                        environment="test", secret_key=secret, **self.storage)
        if path is not None:  # where pg_dump and pg_restore are looked for
            env["PATH"] = path
        if not process:
            done = run_cli(args, env=env, cwd=cwd)
            return Run(done.returncode, done.stdout + done.stderr)
        result = subprocess.run([RIGHTSHUB, *args], cwd=cwd, env=env, capture_output=True,
                                text=True, encoding="utf-8", timeout=180, check=False)
        return Run(result.returncode, result.stdout + result.stderr)

    def engine(self) -> sa.Engine:
        url = self.url.replace("sqlite+aiosqlite", "sqlite").replace("+asyncpg", "")
        return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))

    def rows(self) -> dict[str, list[tuple[object, ...]]]:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return {t: [tuple(r) for r in conn.execute(sa.text(
                    f"select {columns} from {t} order by {key}"))]
                    for t, (columns, key) in TABLES.items()}
        finally:
            engine.dispose()

    def tables(self) -> int:
        engine = self.engine()
        try:
            return len(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()

    def objects(self) -> dict[str, bytes]:
        root = self.archive / "objects"
        return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()} \
            if root.exists() else {}


def _admin_url() -> str:
    return PG_SERVER.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def new_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A factory of new EMPTY databases of the module's backend, all dropped at the end."""
    made: list[str] = []

    def make() -> str:
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'hub.db'}"
        import psycopg

        name = f"rightshub_backup_{uuid.uuid4().hex[:10]}"
        try:
            with psycopg.connect(_admin_url(), autocommit=True, connect_timeout=3) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError:
            if REQUIRE_PG:
                raise
            pytest.skip("PostgreSQL unreachable")
        made.append(name)
        return f"{_admin_url().rsplit('/', 1)[0]}/{name}"

    yield make
    if made:
        import psycopg

        with psycopg.connect(_admin_url(), autocommit=True) as conn:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _fill(site: Site) -> None:
    """Records of two agencies, files attached through the real API (audited), one of them
    detached again: what a hub in use holds."""
    settings = make_settings(site.url, archive_dir=site.archive, secret_key=SECRET,
                             archive_simple_upload_max_bytes=1_000_000)
    hub = Hub(settings)
    try:
        await seed_reference(hub.db)
        app = create_app(settings, hub=hub)
        app.state.hub = hub
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            ids = []
            for n, caller in enumerate(("g16", "g16", "g15", "tq")):
                body = product(f"BK-{n}", title=f"Sổ tay quyền con người {n} — Hà Giang")
                answer = await client.put(f"/v1/products/BK-{n}", json=body,
                                          headers=auth(caller))
                assert answer.status_code == 201, answer.text
                ids.append((answer.json()["id"], caller))
            for n, (record_id, caller) in enumerate(ids):
                for data, name, media in ((pdf_bytes(seed=str(n).encode()), "sach.pdf",
                                           "application/pdf"),
                                          (png_bytes(3_000), "bia.png", "image/png")):
                    answer = await client.post(
                        f"/v1/records/{record_id}/files", content=data,
                        params={"name": name, "role": "main" if name.endswith("pdf")
                                else "cover"},
                        headers={**auth(caller), "Content-Type": media})
                    assert answer.status_code == 201, answer.text
            gone = await client.delete("/v1/products/BK-3", headers=auth("tq"))
            assert gone.status_code in (200, 204), gone.text
    finally:
        await hub.close()


@pytest.fixture(scope="module")
def source(new_url: object, tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = Site(new_url(), tmp_path_factory.mktemp("source-archive"))  # type: ignore[operator]
    upgrade(make_settings(site.url, secret_key=SECRET))
    asyncio.run(_fill(site))
    return site


@pytest.fixture(scope="module")
def backup(source: Site, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("backups")
    made = source.run("backup", "-o", str(where / "b1"), cwd=where)
    assert made.code == 0, made.out
    assert "8 tệp / files" in made.out, made.out
    return where / "b1"


@pytest.fixture
def target(new_url: object, tmp_path: Path) -> Site:
    return Site(new_url(), tmp_path / "restored-archive")  # type: ignore[operator]


def test_manifest_names_every_part_with_its_checksum(source: Site, backup: Path,
                                                     backend: str) -> None:
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "rightshub-backup" and manifest["format_version"] == 1
    assert manifest["hub_version"] and manifest["created_at"]
    database = manifest["database"]
    assert database["kind"] == backend
    assert database["path"] == ("database.sqlite3" if backend == "sqlite" else "database.pgdump")
    assert database["size"] == (backup / database["path"]).stat().st_size
    with source.engine().connect() as conn:
        revision = conn.execute(sa.text("select version_num from alembic_version")).scalar()
    assert database["alembic_revision"] == revision
    stored = source.objects()
    assert manifest["objects"]["count"] == len(stored) == 8
    assert {i["sha256"] for i in manifest["objects"]["items"]} == set(stored)
    for item in manifest["objects"]["items"]:
        data = (backup / item["path"]).read_bytes()
        assert sha(data) == item["sha256"] and len(data) == item["size"]
    assert manifest["objects"]["missing"] == []
    checked = source.run("backup", "verify", str(backup), cwd=backup.parent)
    assert checked.code == 0 and "seal OK" in checked.out, checked.out


def test_restore_into_an_empty_installation(source: Site, backup: Path, target: Site,
                                            tmp_path: Path) -> None:
    before = source.rows()
    assert len(before["audit_log"]) > 10 and len(before["records"]) == 4
    assert len(before["agencies"]) > 30 and len(before["record_files"]) == 8

    restored = target.run("restore", str(backup), cwd=tmp_path, process=True)
    assert restored.code == 0, restored.out
    assert "audit verify: OK" in restored.out and "archive verify: OK" in restored.out
    assert "8 tệp/files đã kiểm tra/checked" in restored.out
    assert target.rows() == before
    assert target.objects() == source.objects()
    # The ordinary checks, run on their own, agree.
    audit = target.run("audit", "verify", cwd=tmp_path)
    assert audit.code == 0 and "OK" in audit.out, audit.out
    archive = target.run("archive", "verify", cwd=tmp_path)
    assert archive.code == 0 and "archive intact: 8" in archive.out, archive.out


def _assert_untouched(target: Site) -> None:
    assert target.tables() == 0
    assert target.objects() == {}


def test_a_changed_object_is_refused_and_nothing_restored(
    backup: Path, target: Site, tmp_path: Path
) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(backup, copy)
    victim = next(p for p in (copy / "objects").rglob("*") if p.is_file())
    raw = bytearray(victim.read_bytes())
    raw[100] ^= 0x01  # one bit, same size
    victim.write_bytes(bytes(raw))

    checked = target.run("backup", "verify", str(copy), cwd=tmp_path)
    assert checked.code == 1 and victim.name in checked.out, checked.out
    refused = target.run("restore", str(copy), cwd=tmp_path)
    assert refused.code == 2, refused.out
    assert "checksum does not match" in refused.out and victim.name in refused.out
    assert "nothing was restored" in refused.out
    _assert_untouched(target)


def test_a_changed_manifest_is_refused(backup: Path, target: Site, tmp_path: Path) -> None:
    copy = tmp_path / "tampered"
    shutil.copytree(backup, copy)
    # A consistent forgery: an object's bytes replaced and the manifest rewritten to match.
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    item = manifest["objects"]["items"][0]
    forged = b"%PDF-1.4\nforged"
    (copy / item["path"]).unlink()
    item.update(sha256=sha(forged), size=len(forged),
                path=f"objects/{sha(forged)[:2]}/{sha(forged)}")
    (copy / item["path"]).parent.mkdir(parents=True, exist_ok=True)
    (copy / item["path"]).write_bytes(forged)
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    refused = target.run("restore", str(copy), cwd=tmp_path)
    assert refused.code == 2 and "seal does not match" in refused.out, refused.out
    _assert_untouched(target)
    (copy / "manifest.json").write_text("{not json", encoding="utf-8")
    broken = target.run("restore", str(copy), cwd=tmp_path)
    assert broken.code == 2 and "Cannot read manifest.json" in broken.out, broken.out
    _assert_untouched(target)


def test_another_secret_key_is_refused(backup: Path, target: Site, tmp_path: Path) -> None:
    refused = target.run("restore", str(backup), cwd=tmp_path, secret="another-key-" * 4)
    assert refused.code == 2 and "secret key is not the one" in refused.out, refused.out
    _assert_untouched(target)


def test_a_non_empty_target_is_refused(source: Site, backup: Path, target: Site,
                                       tmp_path: Path) -> None:
    before = source.rows()
    refused = source.run("restore", str(backup), cwd=tmp_path)  # the live installation
    assert refused.code == 2, refused.out
    assert "target database is not empty" in refused.out and "Nothing was changed" in refused.out
    assert source.rows() == before

    # An empty database but storage that already holds a file: refused too, database left empty.
    stray = pdf_bytes(seed=b"stray")
    key = sha(stray)
    (target.archive / "objects" / key[:2] / key[2:4]).mkdir(parents=True)
    (target.archive / "objects" / key[:2] / key[2:4] / key).write_bytes(stray)
    refused = target.run("restore", str(backup), cwd=tmp_path)
    assert refused.code == 2 and "file storage is not empty" in refused.out, refused.out
    assert target.tables() == 0
    assert target.objects() == {key: stray}


def test_backup_refuses_a_non_empty_output(source: Site, backup: Path, tmp_path: Path) -> None:
    manifest = (backup / "manifest.json").read_bytes()
    again = source.run("backup", "-o", str(backup), cwd=tmp_path)
    assert again.code == 2 and "overwrites nothing" in again.out, again.out
    assert (backup / "manifest.json").read_bytes() == manifest


async def _write_during_backup(site: Site, backup_to: Path) -> tuple[int, int, Run]:
    """Keep writing records (and uploading a file for every fifth) while ``rightshub backup``
    runs in another process; returns the records written before it started and in all."""
    settings = make_settings(site.url, archive_dir=site.archive, secret_key=SECRET,
                             archive_simple_upload_max_bytes=1_000_000)
    hub = Hub(settings)
    app = create_app(settings, hub=hub)
    app.state.hub = hub
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    written, stop = 0, asyncio.Event()

    async def write() -> None:
        nonlocal written
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            while not stop.is_set():
                answer = await client.put(f"/v1/products/LIVE-{written}",
                                          json=product(f"LIVE-{written}"), headers=auth("g16"))
                assert answer.status_code == 201, answer.text
                if written % 5 == 0:
                    upload = await client.post(
                        f"/v1/records/{answer.json()['id']}/files",
                        content=pdf_bytes(seed=f"live-{written}".encode()),
                        params={"name": "ban-chinh.pdf", "role": "main"},
                        headers={**auth("g16"), "Content-Type": "application/pdf"})
                    assert upload.status_code == 201, upload.text
                written += 1

    try:
        await seed_reference(hub.db)
        writer = asyncio.create_task(write())
        while written < 20:
            await asyncio.sleep(0.01)
        started = written
        env = child_env(database_url=site.url, archive_dir=str(site.archive),
                        environment="test", secret_key=SECRET)
        process = await asyncio.create_subprocess_exec(
            RIGHTSHUB, "backup", "-o", str(backup_to), env=env, cwd=backup_to.parent,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await process.communicate()
        stop.set()
        await writer
        assert process.returncode is not None
        return started, written, Run(process.returncode, out.decode("utf-8"))
    finally:
        await hub.close()


def test_a_backup_taken_while_writing_is_consistent(
    new_url: object, tmp_path: Path, target: Site
) -> None:
    site = Site(new_url(), tmp_path / "live-archive")  # type: ignore[operator]
    upgrade(make_settings(site.url, secret_key=SECRET))
    started, finished, made = asyncio.run(_write_during_backup(site, tmp_path / "live"))
    assert made.code == 0, made.out
    restored = target.run("restore", str(tmp_path / "live"), cwd=tmp_path)
    # Audit chain whole up to its recorded head, every listed file present and intact.
    assert restored.code == 0, restored.out
    assert "audit verify: OK" in restored.out and "archive verify: OK" in restored.out
    with target.engine().connect() as conn:
        records = conn.execute(sa.text("select count(*) from records")).scalar_one()
        changed = conn.execute(sa.text(
            "select count(distinct record_id) from record_changes")).scalar_one()
        files = conn.execute(sa.text("select count(*) from record_files")).scalar_one()
        named = set(conn.execute(sa.text("select sha256 from record_files")).scalars())
        live = set(conn.execute(sa.text(
            "select sha256 from stored_files where removed_at is null")).scalars())
    assert started <= records <= finished
    assert changed == records  # each record with its change-feed entry, none without
    assert records // 5 <= files <= records // 5 + 1
    # Every file a record names is there; beyond them at most the one upload that was between
    # its blob's reservation and its attach at the snapshot (its bytes restored if they were
    # in storage, its row dropped if not). No blob row is left without its bytes.
    objects = set(target.objects())
    assert named <= objects and len(objects - named) <= 1, (len(named), len(objects))
    assert live <= objects and named <= live


def test_s3_storage_is_listed_filled_and_backed_up_through_the_storage_api(
    backend: str, source: Site, backup: Path, new_url: object, tmp_path: Path
) -> None:
    """Restore a local-storage backup into an S3-compatible bucket (moto on loopback), back
    that installation up again from S3: the same objects both ways, and a bucket already
    holding an object is refused."""
    if backend != "sqlite":
        pytest.skip("runs once: storage does not depend on the database")
    import boto3

    with moto_server(tmp_path) as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket="restored")
        storage = {"archive_storage": "s3", "archive_s3_endpoint_url": endpoint,
                   "archive_s3_bucket": "restored", "archive_s3_prefix": "rh/",
                   "archive_s3_access_key_id": "testing",
                   "archive_s3_secret_access_key": "testing"}
        target = Site(new_url(), tmp_path / "uploads-only", storage)  # type: ignore[operator]
        restored = target.run("restore", str(backup), cwd=tmp_path)
        assert restored.code == 0, restored.out
        assert "archive verify: OK" in restored.out and "8 tệp/files" in restored.out
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="restored")["Contents"]}
        assert keys == {f"rh/{k}" for k in source.objects()}

        again = target.run("backup", "-o", str(tmp_path / "from-s3"), cwd=tmp_path)
        assert again.code == 0, again.out
        for key, data in source.objects().items():
            assert (tmp_path / "from-s3" / "objects" / key[:2] / key).read_bytes() == data

        other = Site(new_url(), tmp_path / "other", storage)  # type: ignore[operator]
        refused = other.run("restore", str(backup), cwd=tmp_path)
        assert refused.code == 2 and "file storage is not empty" in refused.out, refused.out


def test_an_object_missing_from_storage_is_reported_both_ways(
    new_url: object, tmp_path: Path, target: Site
) -> None:
    """A file lost from storage before the backup: the backup is still written, lists it and
    exits 1; the restored copy's archive check names it and the restore exits 1."""
    site = Site(new_url(), tmp_path / "damaged-archive")  # type: ignore[operator]
    upgrade(make_settings(site.url, secret_key=SECRET))
    asyncio.run(_fill(site))
    lost = next(p for p in (site.archive / "objects").rglob("*") if p.is_file())
    lost.unlink()
    made = site.run("backup", "-o", str(tmp_path / "partial-copy"), cwd=tmp_path)
    assert made.code == 1 and lost.name in made.out and "7 tệp / files" in made.out, made.out
    manifest = json.loads((tmp_path / "partial-copy" / "manifest.json").read_text("utf-8"))
    assert manifest["objects"]["missing"] == [lost.name]
    restored = target.run("restore", str(tmp_path / "partial-copy"), cwd=tmp_path)
    assert restored.code == 1, restored.out
    assert "audit verify: OK" in restored.out and "archive verify: FAILED" in restored.out
    assert f"{lost.name} missing" in restored.out


def test_without_pg_tools_postgresql_is_refused_clearly(
    backend: str, source: Site, backup: Path, target: Site, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("pg_dump and pg_restore are only used for PostgreSQL")
    made = source.run("backup", "-o", str(tmp_path / "never"), cwd=tmp_path, path="/nonexistent")
    assert made.code == 2 and "pg_dump not found" in made.out, made.out
    assert not (tmp_path / "never").exists() and not (tmp_path / "never.partial").exists()
    refused = target.run("restore", str(backup), cwd=tmp_path, path="/nonexistent")
    assert refused.code == 2 and "pg_restore not found" in refused.out, refused.out
    _assert_untouched(target)


def test_an_upload_in_flight_at_the_snapshot_is_neither_lost_nor_left_half(
    new_url: object, tmp_path: Path, target: Site
) -> None:
    """A blob reserved by an upload that has not put its bytes nor attached its file yet (no
    record names it): the backup passes (exit 0) and lists it as in flight, and the restored
    hub has no row without bytes, so its archive check passes."""
    site = Site(new_url(), tmp_path / "busy-archive")  # type: ignore[operator]
    upgrade(make_settings(site.url, secret_key=SECRET))
    asyncio.run(_fill(site))
    reserved = "ab" * 32
    with site.engine().begin() as conn:
        conn.execute(sa.text(
            "insert into stored_files (sha256, size, media_type, created_at, "
            "last_referenced_at) values (:sha, 10, 'application/pdf', :now, :now)"),
            {"sha": reserved, "now": datetime.now(UTC)})
    made = site.run("backup", "-o", str(tmp_path / "busy"), cwd=tmp_path)
    assert made.code == 0, made.out
    manifest = json.loads((tmp_path / "busy" / "manifest.json").read_text("utf-8"))
    assert manifest["objects"]["in_flight"] == [reserved]
    assert manifest["objects"]["missing"] == []
    restored = target.run("restore", str(tmp_path / "busy"), cwd=tmp_path)
    assert restored.code == 0, restored.out
    assert "archive verify: OK" in restored.out
    with target.engine().connect() as conn:
        removed = conn.execute(sa.text("select removed_at from stored_files where sha256 = :s"),
                               {"s": reserved}).scalar_one()
    assert removed is not None
