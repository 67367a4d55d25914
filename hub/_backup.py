"""Backups of one installation, and restoring them into an empty one (issue 21).

A backup is a directory (``rightshub backup -o DIR``)::

    DIR/manifest.json            what is in it, each part's SHA-256 and size, sealed
    DIR/database.sqlite3         SQLite: the online backup API's copy (consistent while serving)
    DIR/database.pgdump          PostgreSQL: ``pg_dump -Fc`` of one exported snapshot
    DIR/objects/ab/<sha256>      every stored file of the archive, named by its digest

It is written as ``DIR.partial`` and renamed when complete, so a directory named like the
target is always a whole backup. The list of objects comes from the same snapshot as the
database: on PostgreSQL the hub exports a REPEATABLE READ snapshot, reads ``stored_files`` in
it and hands it to ``pg_dump --snapshot``. Objects are content-addressed and never rewritten,
so copying them after the snapshot is consistent; one removed meanwhile (or damaged in
storage) is listed as ``missing`` in the manifest and the backup reports it.

The manifest is sealed with an HMAC under a key derived from the hub's secret key. The secret
key itself is never written to a backup: the audit chain and the stored secrets need it, so it
is kept apart (the same ``RIGHTSHUB_SECRET_KEY`` or ``secret-key`` file on the restored
installation), and a seal that does not verify means either a changed manifest or another key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio.to_thread
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import col

from hub._audit import AuditReport
from hub._audit import verify as verify_audit
from hub._db import create_engine
from hub._errors import Conflict, InvalidInput, Unavailable
from hub._hub import Hub
from hub._migrate import alembic_config
from hub._secret_key import derive_key, load_secret_key, secret_key_path
from hub._settings import Settings
from hub.archive._service import VerifyReport, storage_of, uploads_dir, verify_archive
from hub.archive._storage import CHUNK, Storage, storage_for
from hub.tables import RecordFile, StoredFile, utcnow

FORMAT = "rightshub-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_PART = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
_PART = re.compile(r"^(database\.sqlite3|database\.pgdump|objects/[0-9a-f]{2}/[0-9a-f]{64})$")
_SEAL_INFO = b"rightshub backup manifest v1"


class BackupRefused(Conflict):
    """Restore (or backup) would overwrite or damage something: nothing was changed."""

    type_slug = "backup-refused"
    title_vi = "Từ chối sao lưu / khôi phục"
    title_en = "Backup or restore refused"


class BackupDamaged(InvalidInput):
    """A backup whose manifest or parts do not match their checksums (or its seal)."""

    type_slug = "backup-damaged"
    title_vi = "Bản sao lưu bị hỏng hoặc bị sửa"
    title_en = "Backup damaged or changed"


@dataclass(frozen=True, slots=True)
class BackupResult:
    directory: Path
    manifest: dict[str, Any]
    missing: list[str]  # objects named by the snapshot but missing or changed in storage

    @property
    def objects(self) -> int:
        return int(self.manifest["objects"]["count"])


@dataclass(slots=True)
class BackupCheck:
    """What :func:`check_backup` found: ``problems`` empty means every checksum matched."""

    manifest: dict[str, Any]
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class RestoreResult:
    manifest: dict[str, Any]
    objects: int
    audit: AuditReport
    archive: VerifyReport

    @property
    def ok(self) -> bool:
        return self.audit.ok and self.archive.ok


def hub_version() -> str:
    try:
        return metadata.version("rightshub")
    except metadata.PackageNotFoundError:
        return "unknown"


def database_kind(settings: Settings) -> str:
    return "sqlite" if settings.is_sqlite else "postgresql"


# --- seal and checksums --------------------------------------------------------------------


def _seal(key: bytes, manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "seal"}
    data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hmac.new(derive_key(key, _SEAL_INFO), data, hashlib.sha256).hexdigest()


def _sha256_file(path: Path) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            hasher.update(block)
            size += len(block)
    return hasher.hexdigest(), size


def _object_path(key: str) -> str:
    return f"objects/{key[:2]}/{key}"


# --- the database snapshot -----------------------------------------------------------------


def _libpq_env(settings: Settings) -> dict[str, str]:
    """The connection as libpq environment variables: no password on a command line."""
    url = make_url(settings.database_url)
    env = dict(os.environ)
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[name] = str(value)
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise Unavailable(
            f"Không tìm thấy chương trình {name} (gói postgresql-client): cần nó để sao lưu "
            "hoặc khôi phục PostgreSQL. Không thay đổi gì.",
            f"{name} not found (package postgresql-client): it is needed to back up or "
            "restore PostgreSQL. Nothing was changed.",
        )
    return found


async def _run(args: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        text = err.decode("utf-8", "replace").strip()
        raise Unavailable(f"{Path(args[0]).name} thất bại: {text}",
                          f"{Path(args[0]).name} failed: {text}")


# The blobs a snapshot lists, and whether a record file (attached or detached) names each. An
# upload reserves its blob's row in one transaction, puts the bytes, then attaches the file in
# another: a snapshot taken in between lists a blob no record names, whose bytes may not be
# in storage yet. Such a blob is "in flight", not lost (see _write_backup).
_OBJECTS = (
    "select s.sha256, s.size, exists (select 1 from record_files f where f.sha256 = s.sha256) "
    "from stored_files s where s.removed_at is null order by s.sha256"
)
Listed = list[tuple[str, int, bool]]


def _sqlite_snapshot(source: Path, target: Path) -> tuple[str | None, Listed]:
    """Copy with SQLite's online backup API (pages copied under a read lock, consistent
    while the server writes), then read the object list from the copy itself."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        revision = dst.execute("select version_num from alembic_version").fetchone()
        objects = dst.execute(_OBJECTS).fetchall()
    finally:
        dst.close()
        src.close()
    return (revision[0] if revision else None), [(str(s), int(n), bool(r)) for s, n, r in objects]


async def _pg_snapshot(hub: Hub, target: Path) -> tuple[str | None, Listed]:
    """``pg_dump -Fc`` of a snapshot this transaction exports, so the object list read here
    and the dump see exactly the same committed data."""
    pg_dump = _tool("pg_dump")
    engine = create_engine(hub.settings, command_timeout=None)
    try:
        async with engine.connect() as plain:
            connection = await plain.execution_options(isolation_level="REPEATABLE READ")
            async with connection.begin():
                snapshot = (await connection.execute(
                    sa.text("select pg_export_snapshot()"))).scalar_one()
                revision = (await connection.execute(
                    sa.text("select version_num from alembic_version"))).scalar()
                objects = (await connection.execute(sa.text(_OBJECTS))).all()
                await _run([pg_dump, "-Fc", f"--snapshot={snapshot}", "-f", str(target)],
                           _libpq_env(hub.settings))
    finally:
        await engine.dispose()
    return revision, [(str(s), int(n), bool(r)) for s, n, r in objects]


# --- backup --------------------------------------------------------------------------------


async def _copy_object(storage: Storage, key: str, size: int, target: Path) -> bool:
    """Stream one object out of storage into ``target``; False (nothing left behind) when it
    is missing or its bytes no longer hash to its key."""
    if await storage.size_of(key) != size:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    hasher = hashlib.sha256()
    handle = await anyio.to_thread.run_sync(target.open, "wb")
    try:
        async for block in storage.read(key):
            hasher.update(block)
            await anyio.to_thread.run_sync(handle.write, block)
    finally:
        handle.close()
    if hasher.hexdigest() != key:
        target.unlink()
        return False
    return True


def _refuse_existing(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupRefused(
            f"{target} đã có và không trống: bản sao lưu không ghi đè lên gì.",
            f"{target} exists and is not empty: a backup overwrites nothing.",
        )


async def create_backup(hub: Hub, target: Path) -> BackupResult:
    """Write one backup of ``hub``'s database and archive to the new directory ``target``."""
    _refuse_existing(target)
    kind = database_kind(hub.settings)
    work = target.with_name(target.name + ".partial")
    if work.exists():
        shutil.rmtree(work)  # a backup interrupted earlier: never a complete one
    work.mkdir(parents=True)
    try:
        manifest, missing = await _write_backup(hub, work, kind)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)  # no half backup left behind
        raise
    _refuse_existing(target)
    if target.exists():
        target.rmdir()  # the empty directory asked for
    os.replace(work, target)
    return BackupResult(target, manifest, missing)


async def _write_backup(hub: Hub, work: Path, kind: str) -> tuple[dict[str, Any], list[str]]:
    part = work / DATABASE_PART[kind]
    if kind == "sqlite":
        source = hub.settings.sqlite_path
        if source is None or not source.exists():
            raise BackupRefused("Không có tệp cơ sở dữ liệu SQLite để sao lưu.",
                                "There is no SQLite database file to back up.")
        revision, objects = await anyio.to_thread.run_sync(_sqlite_snapshot, source, part)
    else:
        revision, objects = await _pg_snapshot(hub, part)
    db_sha, db_size = await anyio.to_thread.run_sync(_sha256_file, part)
    storage = storage_of(hub)
    items: list[dict[str, Any]] = []
    missing: list[str] = []
    in_flight: list[str] = []
    for key, size, referenced in objects:
        if await _copy_object(storage, key, size, work / _object_path(key)):
            items.append({"path": _object_path(key), "sha256": key, "size": size})
        elif referenced:
            missing.append(key)
        else:  # an upload between its reservation and its attach: restore drops the row
            in_flight.append(key)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hub_version": hub_version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"kind": kind, "alembic_revision": revision, "path": part.name,
                     "sha256": db_sha, "size": db_size},
        "storage": hub.settings.archive_storage,
        "objects": {"count": len(items), "bytes": sum(i["size"] for i in items),
                    "missing": missing, "in_flight": in_flight, "items": items},
    }
    manifest["seal"] = _seal(load_secret_key(hub.settings), manifest)
    (work / MANIFEST).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest, missing


async def _drop_in_flight(hub: Hub, manifest: dict[str, Any]) -> None:
    """Mark removed the blobs of uploads that were in flight at the snapshot (no record names
    them, their bytes were not in storage yet): the restored hub holds no row without bytes,
    as orphan collection would have left it."""
    keys = [k for k in manifest["objects"].get("in_flight", []) if isinstance(k, str)]
    if not keys:
        return
    named = sa.select(RecordFile.sha256).where(RecordFile.sha256 == StoredFile.sha256)
    async with hub.db.transaction() as session:
        await session.execute(sa.update(StoredFile).where(
            col(StoredFile.sha256).in_(keys), ~named.exists()).values(removed_at=utcnow()))


# --- checking a backup ---------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = orjson.loads((source / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise BackupDamaged(f"Không đọc được {MANIFEST} trong {source}: {exc}",
                            f"Cannot read {MANIFEST} in {source}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupDamaged(f"{source} không phải bản sao lưu RightsHub.",
                            f"{source} is not a RightsHub backup.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupDamaged(
            f"Định dạng sao lưu phiên bản {manifest.get('format_version')} không được hỗ trợ "
            f"(bản này đọc phiên bản {FORMAT_VERSION}).",
            f"Backup format version {manifest.get('format_version')} is not supported "
            f"(this release reads version {FORMAT_VERSION}).",
        )
    return manifest


def _parts(manifest: dict[str, Any]) -> list[tuple[str, str, int]]:
    try:
        database = manifest["database"]
        parts = [(database["path"], database["sha256"], int(database["size"]))]
        parts += [(i["path"], i["sha256"], int(i["size"])) for i in manifest["objects"]["items"]]
    except (KeyError, TypeError, ValueError):
        raise BackupDamaged("Tệp kê khai thiếu trường bắt buộc.",
                            "The manifest lacks required fields.") from None
    return parts


def check_backup(source: Path, secret_key: bytes | None) -> BackupCheck:
    """Check the seal (when ``secret_key`` is given) and every part's size and SHA-256.
    Reads the whole backup; changes nothing."""
    manifest = read_manifest(source)
    check = BackupCheck(manifest)
    if secret_key is not None and not hmac.compare_digest(
        str(manifest.get("seal", "")), _seal(secret_key, manifest)
    ):
        check.problems.append(
            "manifest.json: dấu niêm phong không khớp (tệp kê khai bị sửa, hoặc khoá bí mật "
            "khác khoá của bản cài đặt đã sao lưu) / seal does not match (the manifest was "
            "changed, or the secret key is not the one of the installation backed up)"
        )
    for path, digest, size in _parts(manifest):
        check.checked += 1
        if not _PART.match(path) or (path.startswith("objects/") and not path.endswith(digest)):
            check.problems.append(f"{path}: tên phần không hợp lệ / invalid part name")
            continue
        file = source / path
        if not file.is_file():
            check.problems.append(f"{path}: thiếu / missing")
            continue
        found_sha, found_size = _sha256_file(file)
        if (found_sha, found_size) != (digest, size):
            check.problems.append(f"{path}: tổng kiểm không khớp / checksum does not match")
    return check


# --- restore -------------------------------------------------------------------------------


def restore_secret_key(settings: Settings) -> bytes:
    """The secret key restore checks the seal with: the setting, or the existing key file.
    Never generates one: a new random key could only make the seal (and the audit chain)
    fail after the data was restored."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = secret_key_path(settings)
    if not path.exists():
        raise BackupRefused(
            f"Chưa có khoá bí mật: đặt RIGHTSHUB_SECRET_KEY hoặc chép tệp secret-key của bản "
            f"cài đặt đã sao lưu vào {path}. Không thay đổi gì.",
            f"No secret key: set RIGHTSHUB_SECRET_KEY or copy the backed-up installation's "
            f"secret-key file to {path}. Nothing was changed.",
        )
    return load_secret_key(settings)


def _sqlite_tables(path: Path) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(connection.execute(
            "select count(*) from sqlite_master where type = 'table'").fetchone()[0])
    finally:
        connection.close()


async def _database_is_empty(settings: Settings) -> bool:
    if settings.is_sqlite:
        path = settings.sqlite_path
        if path is None:
            raise BackupRefused("Không khôi phục vào cơ sở dữ liệu SQLite trong bộ nhớ.",
                                "Cannot restore into an in-memory SQLite database.")
        return not path.exists() or await anyio.to_thread.run_sync(_sqlite_tables, path) == 0
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            count = (await connection.execute(sa.text(
                "select count(*) from information_schema.tables "
                "where table_schema not in ('pg_catalog', 'information_schema')"))).scalar_one()
    finally:
        await engine.dispose()
    return int(count) == 0


async def _first_key(storage: Storage) -> str | None:
    keys: AsyncIterator[str] = storage.keys()
    async for key in keys:
        return key
    return None


async def _refuse_unless_restorable(settings: Settings, manifest: dict[str, Any]) -> None:
    from alembic.script import ScriptDirectory

    kind = manifest["database"].get("kind")
    if kind != database_kind(settings):
        raise BackupRefused(
            f"Bản sao lưu là cơ sở dữ liệu {kind}, còn cấu hình trỏ tới "
            f"{database_kind(settings)}. Không thay đổi gì.",
            f"The backup holds a {kind} database but the settings name "
            f"{database_kind(settings)}. Nothing was changed.",
        )
    revision = manifest["database"].get("alembic_revision")
    script = ScriptDirectory.from_config(alembic_config(settings))
    try:
        known = revision is not None and script.get_revision(revision) is not None
    except Exception:  # alembic's CommandError / RevisionError: a revision we do not ship
        known = False
    if not known:
        raise BackupRefused(
            f"Bản sao lưu ở phiên bản lược đồ {revision}, mà bản cài đặt này không biết: "
            "hãy khôi phục bằng bản phát hành đã sao lưu. Không thay đổi gì.",
            f"The backup is at schema revision {revision}, which this release does not "
            "know: restore it with the release that made it. Nothing was changed.",
        )
    if kind == "postgresql":
        _tool("pg_restore")
    if not await _database_is_empty(settings):
        raise BackupRefused(
            "Cơ sở dữ liệu đích không trống: khôi phục chỉ vào một cơ sở dữ liệu trống. "
            "Không thay đổi gì.",
            "The target database is not empty: restore only into an empty database. "
            "Nothing was changed.",
        )
    if await _first_key(storage_for(settings)) is not None:
        raise BackupRefused(
            "Kho lưu trữ tệp đích không trống: khôi phục chỉ vào một kho trống. "
            "Không thay đổi gì.",
            "The target file storage is not empty: restore only into empty storage. "
            "Nothing was changed.",
        )


def _copy_sqlite(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    shutil.copyfile(source, partial)
    os.replace(partial, target)


async def _put_objects(hub: Hub, source: Path, manifest: dict[str, Any]) -> int:
    """Put every object back through the storage API, hashing each copy once more."""
    storage = storage_of(hub)
    staging = uploads_dir(hub)
    count = 0
    for item in manifest["objects"]["items"]:
        key = str(item["sha256"])
        staged = staging / f"restore-{key}"
        await anyio.to_thread.run_sync(shutil.copyfile, source / item["path"], staged)
        digest, _ = await anyio.to_thread.run_sync(_sha256_file, staged)
        if digest != key:
            staged.unlink()
            raise BackupDamaged(f"{item['path']} thay đổi trong lúc khôi phục.",
                                f"{item['path']} changed during the restore.")
        await storage.put(key, staged)
        count += 1
    return count


async def restore_backup(settings: Settings, source: Path) -> RestoreResult:
    """Restore ``source`` into the empty database and storage ``settings`` name, then run
    the audit-chain and archive checks. Refuses (nothing changed) a damaged or foreign
    backup and a non-empty target."""
    check = await anyio.to_thread.run_sync(check_backup, source, restore_secret_key(settings))
    if not check.ok:
        raise BackupDamaged(
            "Bản sao lưu không khớp tổng kiểm, không khôi phục gì: " + "; ".join(check.problems),
            "The backup does not match its checksums; nothing was restored: "
            + "; ".join(check.problems),
            problems=check.problems,
        )
    manifest = check.manifest
    await _refuse_unless_restorable(settings, manifest)
    database = source / manifest["database"]["path"]
    if settings.is_sqlite:
        assert settings.sqlite_path is not None  # refused above otherwise
        await anyio.to_thread.run_sync(_copy_sqlite, database, settings.sqlite_path)
    else:
        await _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                    "--single-transaction", "-d", str(make_url(settings.database_url).database),
                    str(database)], _libpq_env(settings))
    hub = Hub(settings)
    try:
        objects = await _put_objects(hub, source, manifest)
        await _drop_in_flight(hub, manifest)
        async with hub.db.session() as session:
            audit = await verify_audit(session)
        archive = await verify_archive(hub)
    finally:
        await hub.close()
    return RestoreResult(manifest, objects, audit, archive)

