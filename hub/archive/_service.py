"""The product archive: files on records, stored once, shared under the record's policy.

A file's life (both upload paths end in :func:`finish_upload`):

1. *stage*: the bytes stream to a part file under ``archive_root/uploads`` (never whole in
   memory), hashed on the way when they come in one request;
2. *check*: size, media type from the bytes (:mod:`hub.archive._media`), the client's checksum,
   malware (:mod:`hub.archive._clamd`, when configured). A refusal deletes the part file: nothing
   is stored;
3. *store*: the blob's row is reserved, then the bytes go to storage under their SHA-256 (a
   rename on local disk, a multipart upload to S3) unless that blob is already there;
4. *attach*: one transaction under the change-feed lock bumps the record's version and
   ``seq``, adds the attachment and a change-log row, and audits it. The change feed and the
   deliveries therefore carry file changes like any other change of the record.

Only callers' transactions commit; functions take the :class:`~hub.Hub` and the principal.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub import _audit as audit
from hub import _changelog as changelog
from hub._archive_db import FileInfo, current_file_lists
from hub._db import take_change_feed_lock
from hub._errors import (
    Forbidden,
    HubError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
)
from hub._hub import Hub
from hub._principal import Principal
from hub._query import visible_to
from hub._registry import AgencyGraph
from hub.archive._clamd import scan_file
from hub.archive._media import (
    SNIFF_BYTES,
    UNKNOWN,
    clean_file_name,
    detect_media_type,
    normalise_type,
)
from hub.archive._storage import Storage, storage_for
from hub.tables import Record, RecordFile, StoredFile, utcnow

ROLES = ("main", "cover", "subtitles", "slides", "transcript")
WRITE_CHUNK = 1024 * 1024  # bytes gathered before one write (and hash) in a worker thread
HASH_CHUNK = 4 * 1024 * 1024

_storages: WeakKeyDictionary[Hub, Storage] = WeakKeyDictionary()


class ChecksumMismatch(HubError):
    """The bytes received do not have the checksum the client sent (tus: 460)."""

    status = 460
    type_slug = "checksum-mismatch"
    title_vi = "Tổng kiểm tra (checksum) không khớp"
    title_en = "Checksum mismatch"


class InfectedFile(HubError):
    status = 422
    type_slug = "infected-file"
    title_vi = "Tệp chứa mã độc"
    title_en = "The file contains malware"


def storage_of(hub: Hub) -> Storage:
    """The hub's storage backend, built once per hub from its settings."""
    found = _storages.get(hub)
    if found is None:
        found = _storages[hub] = storage_for(hub.settings)
    return found


def uploads_dir(hub: Hub) -> Path:
    path = hub.settings.archive_root / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True, slots=True, kw_only=True)
class FileClaims:
    """What the uploader says about a file; checked before any byte is stored."""

    name: str
    media_type: str | None = None
    language: str | None = None
    role: str = "main"
    sha256: str | None = None  # hex, verified on completion when given


@dataclass(slots=True)
class Staged:
    path: Path
    size: int
    sha256: str | None = None
    head: bytes = b""


async def check_claims(hub: Hub, claims: FileClaims) -> FileClaims:
    """Normalised claims, or a 400 naming the bad one."""
    role = (claims.role or "main").strip().lower()
    if role not in ROLES:
        raise InvalidInput(
            f"Vai trò tệp không hợp lệ: {role}; dùng một trong {', '.join(ROLES)}.",
            f"Invalid file role {role}; use one of {', '.join(ROLES)}.", field="role",
        )
    language = claims.language.strip().lower() if claims.language else None
    if language is not None:
        codes = (await hub.catalog.vocabulary_codes()).get("language", frozenset())
        if language not in codes:
            raise InvalidInput(
                f"Mã ngôn ngữ {language} không có trong danh mục ngôn ngữ (ISO 639-3).",
                f"Language code {language} is not in the language vocabulary (ISO 639-3).",
                field="language",
            )
    sha = claims.sha256.strip().lower() if claims.sha256 else None
    if sha is not None and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise InvalidInput("sha256 phải là 64 chữ số hex.", "sha256 must be 64 hex digits.",
                           field="sha256")
    declared = normalise_type(claims.media_type)
    if declared not in UNKNOWN and declared not in hub.settings.archive_allowed_types:
        # Refused before any byte travels (the bytes are checked again at the end).
        raise UnsupportedMediaType(
            f"Kiểu tệp {declared} không được chấp nhận trong kho lưu trữ.",
            f"Files of type {declared} are not accepted by the archive.",
            allowed=sorted(hub.settings.archive_allowed_types),
        )
    return FileClaims(name=clean_file_name(claims.name), media_type=claims.media_type,
                      language=language, role=role, sha256=sha)


# --- access -------------------------------------------------------------------------------


async def writable_record(
    session: AsyncSession, principal: Principal, graph: AgencyGraph, record_id: str
) -> Record:
    """The live record ``principal`` may attach files to: its agency's own, or one of an
    agency it succeeded (the ingest pipeline's write rule). 404 when it may not even read it,
    403 when it may read but not write."""
    record = await _visible_record(session, principal, graph, record_id)
    if record.owner_agency not in graph.rolled_up(principal.agency):
        raise Forbidden(
            "Chỉ cơ quan sở hữu bản ghi mới được thêm hoặc gỡ tệp.",
            "Only the record's owning agency may add or remove its files.",
        )
    if record.deleted:
        raise NotFound("Bản ghi đã bị xoá.", "The record was deleted.")
    return record


async def _visible_record(
    session: AsyncSession, principal: Principal, graph: AgencyGraph, record_id: str
) -> Record:
    record = None
    if _is_uuid(record_id):
        record = (await session.execute(
            sa.select(Record).where(Record.id == record_id, visible_to(principal, graph))
        )).scalar_one_or_none()
    if record is None:
        raise NotFound(f"Không tìm thấy bản ghi {record_id}.", f"Record {record_id} not found.")
    return record


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


async def files_for_records(
    hub: Hub, principal: Principal, record_ids: Sequence[str]
) -> dict[str, list[FileInfo]]:
    """Record id -> its files, for the records ``principal`` may read (others are left out).
    For GraphQL and the console: one query per call, whatever the number of records."""
    graph = await hub.catalog.agencies()
    ids = [i for i in dict.fromkeys(record_ids) if _is_uuid(i)]
    if not ids:
        return {}
    async with hub.db.session() as session:
        readable = list((await session.execute(
            sa.select(Record.id).where(Record.id.in_(ids), visible_to(principal, graph))
        )).scalars())
        return await current_file_lists(session, readable)


async def get_file(hub: Hub, principal: Principal, file_id: str) -> FileInfo:
    """An attached file ``principal`` may read (the record's policy); 404 otherwise."""
    graph = await hub.catalog.agencies()
    async with hub.db.session() as session:
        row = await _attached(session, file_id)
        await _visible_record(session, principal, graph, row.record_id)
        return FileInfo.from_row(row)


async def get_file_unchecked(hub: Hub, file_id: str) -> FileInfo:
    """An attached file by id, for a link the hub signed (access was checked when signing)."""
    async with hub.db.session() as session:
        return FileInfo.from_row(await _attached(session, file_id))


async def _attached(session: AsyncSession, file_id: str) -> RecordFile:
    row = await session.get(RecordFile, file_id) if _is_uuid(file_id) else None
    if row is None or row.detached_seq is not None:
        raise NotFound(f"Không tìm thấy tệp {file_id}.", f"File {file_id} not found.")
    return row


async def record_files(hub: Hub, principal: Principal, record_id: str) -> list[FileInfo]:
    graph = await hub.catalog.agencies()
    async with hub.db.session() as session:
        await _visible_record(session, principal, graph, record_id)
        return (await current_file_lists(session, [record_id]))[record_id]


async def open_file(
    hub: Hub, info: FileInfo, start: int = 0, length: int | None = None
) -> AsyncIterator[bytes]:
    """The file's bytes from ``start``; checked to be in storage before the caller starts
    answering (a file lost from storage is a 503 naming ``rightshub archive verify``, not a
    response cut after its headers)."""
    storage = storage_of(hub)
    if await storage.size_of(info.sha256) is None:
        raise Unavailable(
            "Tệp có trong cơ sở dữ liệu nhưng không còn trong kho lưu trữ; quản trị viên hãy "
            "chạy `rightshub archive verify`.",
            "The file is recorded but missing from storage; an administrator should run "
            "`rightshub archive verify`.",
        )
    return storage.read(info.sha256, start, length)


# --- signed links ---------------------------------------------------------------------------


def sign_link(key: bytes, file_id: str, expires: int) -> str:
    """HMAC-SHA256 over the file id and expiry (Unix seconds): a link a browser can follow
    without credentials until it expires."""
    message = f"rightshub-file-link:{file_id}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def link_is_valid(key: bytes, file_id: str, expires: int, signature: str, now: float) -> bool:
    return expires >= now and hmac.compare_digest(sign_link(key, file_id, expires), signature)


# --- staging --------------------------------------------------------------------------------


async def stage_stream(
    hub: Hub, chunks: AsyncIterator[bytes], *, max_bytes: int
) -> Staged:
    """Stream a request body to a part file, hashing it on the way; 413 past ``max_bytes``.
    The part file is removed on any failure."""
    path = uploads_dir(hub) / f"simple-{uuid.uuid4().hex}.part"
    hasher = hashlib.sha256()
    handle = await anyio.to_thread.run_sync(path.open, "wb")
    size = 0
    head = bytearray()
    pending = bytearray()

    def flush(data: bytes) -> None:
        handle.write(data)
        hasher.update(data)

    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            pending += chunk
            if len(pending) >= WRITE_CHUNK:
                data, pending = bytes(pending), bytearray()
                await anyio.to_thread.run_sync(flush, data)
        await anyio.to_thread.run_sync(flush, bytes(pending))
    except BaseException:
        handle.close()
        path.unlink(missing_ok=True)
        raise
    handle.close()
    return Staged(path, size, hasher.hexdigest(), bytes(head))


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Tệp vượt quá giới hạn {limit} byte.", f"The file exceeds the {limit}-byte limit.",
        limit=limit,
    )


def check_size(hub: Hub, size: int, *, simple: bool) -> None:
    limit = (hub.settings.archive_simple_upload_max_bytes if simple
             else hub.settings.archive_max_file_bytes)
    if size > limit:
        raise _too_large(limit)


def _sha256_of(path: Path) -> tuple[str, bytes]:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        hasher.update(head)
        while block := handle.read(HASH_CHUNK):
            hasher.update(block)
    return hasher.hexdigest(), head


# --- finishing an upload --------------------------------------------------------------------


async def finish_upload(
    hub: Hub, principal: Principal, record_id: str, staged: Staged, claims: FileClaims
) -> tuple[FileInfo, bool]:
    """Check, store and attach a staged file; returns the attachment and whether it is new
    (the same bytes with the same role already attached answer the existing one).
    The part file is consumed either way."""
    try:
        if staged.sha256 is None or not staged.head:
            staged.sha256, staged.head = await anyio.to_thread.run_sync(
                _sha256_of, staged.path
            )
        assert staged.sha256 is not None
        if claims.sha256 is not None and claims.sha256 != staged.sha256:
            raise ChecksumMismatch(
                "SHA-256 của tệp nhận được khác với giá trị đã khai báo.",
                "The SHA-256 of the received file differs from the declared one.",
                declared=claims.sha256, received=staged.sha256,
            )
        media = detect_media_type(
            staged.head, claims.media_type, hub.settings.archive_allowed_types
        )
        if hub.settings.archive_clamd:
            await _scan(hub, principal, record_id, staged, claims)
        await _store(hub, staged, media)
        return await _attach(hub, principal, record_id, staged, claims, media)
    finally:
        staged.path.unlink(missing_ok=True)


async def upload_stream(
    hub: Hub,
    principal: Principal,
    record_id: str,
    chunks: AsyncIterator[bytes],
    claims: FileClaims,
    *,
    declared_size: int | None = None,
) -> tuple[FileInfo, bool]:
    """Upload one file in a single stream (the REST simple upload, the console's form):
    claims and write access are checked before the first byte is read, then the bytes are
    staged, checked, stored and attached. Limited to ``archive_simple_upload_max_bytes``."""
    claims = await check_claims(hub, claims)
    if declared_size is not None:
        check_size(hub, declared_size, simple=True)
    graph = await hub.catalog.agencies()
    async with hub.db.session() as session:
        await writable_record(session, principal, graph, record_id)
    staged = await stage_stream(
        hub, chunks, max_bytes=hub.settings.archive_simple_upload_max_bytes
    )
    return await finish_upload(hub, principal, record_id, staged, claims)


async def _scan(
    hub: Hub, principal: Principal, record_id: str, staged: Staged, claims: FileClaims
) -> None:
    assert hub.settings.archive_clamd is not None
    signature = await scan_file(hub.settings.archive_clamd, staged.path)
    if signature is None:
        return
    await audit.append_in_own_transaction(
        hub.db, actor=principal.client_id, actor_kind=principal.kind, agency=principal.agency,
        action="files.infected", target=record_id, outcome="refused",
        details={"signature": signature, "sha256": staged.sha256, "size": staged.size,
                 "name": claims.name},
    )
    raise InfectedFile(
        f"Tệp bị từ chối: phát hiện mã độc ({signature}).",
        f"The file was refused: malware found ({signature}).", signature=signature,
    )


async def _store(hub: Hub, staged: Staged, media: str) -> None:
    """Reserve the blob's row, then put the bytes unless storage already holds them.

    The reservation (and its ``last_referenced_at``) is written under the change-feed lock,
    which orphan collection also takes: a blob being re-used is never collected meanwhile."""
    assert staged.sha256 is not None
    now = utcnow()
    async with hub.db.transaction() as session:
        await take_change_feed_lock(session)
        row = await session.get(StoredFile, staged.sha256)
        if row is None:
            session.add(StoredFile(sha256=staged.sha256, size=staged.size, media_type=media,
                                   created_at=now, last_referenced_at=now))
        else:
            row.last_referenced_at = now
    storage = storage_of(hub)
    if not await storage.has(staged.sha256):
        await storage.put(staged.sha256, staged.path)


async def _attach(
    hub: Hub, principal: Principal, record_id: str, staged: Staged, claims: FileClaims,
    media: str,
) -> tuple[FileInfo, bool]:
    assert staged.sha256 is not None
    graph = await hub.catalog.agencies()
    async with hub.db.transaction() as session:
        seqs = await changelog.lock(session)
        record = await writable_record(session, principal, graph, record_id)
        same = (await session.execute(sa.select(RecordFile).where(
            RecordFile.record_id == record.id, RecordFile.sha256 == staged.sha256,
            RecordFile.role == claims.role, RecordFile.detached_seq.is_(None),
        ))).scalars().first()
        if same is not None:
            return FileInfo.from_row(same), False
        now = utcnow()
        await session.execute(sa.update(StoredFile).where(
            col(StoredFile.sha256) == staged.sha256).values(removed_at=None))
        row = RecordFile(
            id=str(uuid.uuid4()), record_id=record.id, sha256=staged.sha256, size=staged.size,
            media_type=media, original_name=claims.name, language=claims.language,
            role=claims.role, attached_at=now, attached_seq=seqs.take(),
            attached_by=principal.client_id,
        )
        session.add(row)
        await _record_changed(session, principal, record, seqs, now)
        await audit.append(
            session, actor=principal.client_id, actor_kind=principal.kind,
            agency=principal.agency, action="files.attach",
            target=f"{record.record_type}/{record.source_id}",
            details={"file_id": row.id, "sha256": row.sha256, "size": row.size,
                     "media_type": media, "role": row.role, "record_id": record.id},
        )
        return FileInfo.from_row(row), True


async def _record_changed(
    session: AsyncSession, principal: Principal, record: Record, seqs: changelog.Seqs,
    now: datetime,
) -> None:
    """A new version of ``record`` whose file list changed, at the ``seq`` just taken from
    ``seqs`` (the file's): version and ``seq`` move, a change-log row is written (so the feed
    and the deliveries carry it). ``content_hash`` stays the hash of the record's data: it is
    what the ingest pipeline compares to decide "unchanged", and an upsert of the same data
    must not count as a change."""
    provenance = changelog.Provenance(principal, None).fields
    record.version += 1
    record.seq = seqs.last
    record.updated_at = now
    record.provenance = provenance
    await session.flush()
    await changelog.append(session, [changelog.entry(
        seq=seqs.last, record_id=record.id, record_type=record.record_type,
        owner_agency=record.owner_agency, source_id=record.source_id, op="upsert",
        version=record.version, visibility=record.visibility,
        previous_visibility=record.visibility, content_hash=record.content_hash,
        data=record.data, provenance=provenance, changed_at=now,
    )])
    await seqs.release(session)


async def detach_file(hub: Hub, principal: Principal, file_id: str) -> None:
    """Remove a file from its record (a new version of the record). The bytes stay while any
    record uses them; orphan collection removes them later otherwise."""
    graph = await hub.catalog.agencies()
    async with hub.db.transaction() as session:
        seqs = await changelog.lock(session)
        row = await _attached(session, file_id)
        record = await writable_record(session, principal, graph, row.record_id)
        now = utcnow()
        row.detached_seq = seqs.take()
        row.detached_at = now
        await _record_changed(session, principal, record, seqs, now)
        await audit.append(
            session, actor=principal.client_id, actor_kind=principal.kind,
            agency=principal.agency, action="files.detach",
            target=f"{record.record_type}/{record.source_id}",
            details={"file_id": row.id, "sha256": row.sha256, "record_id": record.id},
        )


# --- housekeeping ---------------------------------------------------------------------------


async def collect_orphan_files(hub: Hub, *, grace: timedelta = timedelta(hours=24)) -> int:
    """Remove from storage the blobs no record uses any more (detached, or their records
    deleted), once unreferenced for ``grace``. A blob another record still uses is never
    touched. Returns the number removed."""
    cutoff = utcnow() - grace
    active = sa.select(RecordFile.sha256).where(
        RecordFile.sha256 == StoredFile.sha256, RecordFile.detached_seq.is_(None)
    ).exists()
    async with hub.db.session() as session:
        candidates = list((await session.execute(sa.select(col(StoredFile.sha256)).where(
            col(StoredFile.removed_at).is_(None), col(StoredFile.last_referenced_at) < cutoff,
            ~active,
        ))).scalars())
    removed = 0
    storage = storage_of(hub)
    for sha in candidates:
        async with hub.db.transaction() as session:
            await take_change_feed_lock(session)  # the same lock an upload's reservation takes
            still = (await session.execute(sa.select(col(StoredFile.sha256)).where(
                col(StoredFile.sha256) == sha, col(StoredFile.removed_at).is_(None),
                col(StoredFile.last_referenced_at) < cutoff, ~active,
            ))).scalar_one_or_none()
            if still is None:
                continue
            await storage.delete(sha)
            await session.execute(sa.update(StoredFile).where(col(StoredFile.sha256) == sha)
                                  .values(removed_at=utcnow()))
            removed += 1
    return removed


@dataclass(slots=True)
class VerifyProblem:
    sha256: str
    problem: str  # "missing" or "changed"
    size: int
    records: list[str]  # "type/source_id (agency)" of the records using the file


@dataclass(slots=True)
class VerifyReport:
    checked: int = 0
    problems: list[VerifyProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_archive(hub: Hub) -> VerifyReport:
    """Re-hash every stored file from storage; report those missing or changed."""
    report = VerifyReport()
    storage = storage_of(hub)
    after = ""
    while True:
        async with hub.db.session() as session:
            batch = list(await session.execute(
                sa.select(col(StoredFile.sha256), col(StoredFile.size))
                .where(col(StoredFile.removed_at).is_(None), col(StoredFile.sha256) > after)
                .order_by(StoredFile.sha256).limit(200)
            ))
        if not batch:
            return report
        for sha, size in batch:
            after = sha
            report.checked += 1
            problem = await _verify_one(storage, sha, size)
            if problem is None:
                async with hub.db.transaction() as session:
                    await session.execute(sa.update(StoredFile).where(
                        col(StoredFile.sha256) == sha).values(verified_at=utcnow()))
                continue
            report.problems.append(
                VerifyProblem(sha, problem, size, await _users_of(hub, sha))
            )


async def _verify_one(storage: Storage, sha: str, size: int) -> str | None:
    stored_size = await storage.size_of(sha)
    if stored_size is None:
        return "missing"
    if stored_size != size:
        return "changed"
    hasher = hashlib.sha256()
    async for block in storage.read(sha):
        hasher.update(block)
    return None if hasher.hexdigest() == sha else "changed"


async def _users_of(hub: Hub, sha: str) -> list[str]:
    async with hub.db.session() as session:
        rows = await session.execute(
            sa.select(Record.record_type, Record.source_id, Record.owner_agency)
            .join(RecordFile, RecordFile.record_id == Record.id)
            .where(RecordFile.sha256 == sha, RecordFile.detached_seq.is_(None))
        )
        return [f"{t}/{s} ({a})" for t, s, a in rows]


# --- the archiving obligation ---------------------------------------------------------------

# Products paid for by the state budget must be archived. The standard records this in the
# product's ``funding_source`` (vocabulary funding_source): the central state budget and local
# budgets are both the state budget (ngân sách nhà nước gồm ngân sách trung ương và địa phương).
STATE_FUNDING = ("state_budget", "local_budget")


@dataclass(frozen=True, slots=True)
class UnarchivedReport:
    total: int
    items: list[dict[str, Any]]


async def unarchived_state_funded(
    session: AsyncSession,
    *,
    agencies: Collection[str] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> UnarchivedReport:
    """Live state-funded products without an archived main copy (no attached file with role
    ``main``), newest change first; ``agencies`` limits it to those owners (None: all).
    For the admin report and the programme dashboard (which needs only ``total``)."""
    has_main = sa.select(RecordFile.id).where(
        RecordFile.record_id == Record.id, RecordFile.role == "main",
        RecordFile.detached_seq.is_(None),
    ).exists()
    conditions = [
        Record.record_type == "products", Record.deleted.is_(False),
        Record.data["funding_source"].as_string().in_(STATE_FUNDING), ~has_main,
    ]
    if agencies is not None:
        conditions.append(Record.owner_agency.in_(sorted(agencies)))
    total = (await session.execute(
        sa.select(sa.func.count()).select_from(Record).where(*conditions)
    )).scalar_one()
    rows = await session.execute(
        sa.select(Record.id, Record.owner_agency, Record.source_id, Record.title, Record.kind,
                  Record.data["funding_source"].as_string(), Record.updated_at)
        .where(*conditions).order_by(Record.seq.desc()).limit(limit).offset(offset)
    )
    items = [
        {"id": i, "owner_agency": a, "source_id": s, "title": t, "kind": k,
         "funding_source": f, "updated_at": u}
        for i, a, s, t, k, f, u in rows
    ]
    return UnarchivedReport(int(total), items)


def expires_in(hours: float) -> datetime:
    return utcnow() + timedelta(hours=hours)
