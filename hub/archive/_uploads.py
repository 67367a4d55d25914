"""Resumable uploads (tus 1.0: core protocol plus creation, termination, checksum and
expiration), the part that is not HTTP: upload rows, part files, offsets.

The offset lives in the database and moves only by a conditional update from the offset a
PATCH started at, so a PATCH that lost a race cannot move it twice; the bytes live in
``archive_root/uploads/<id>.part``. A PATCH cut off by a dropped connection keeps the bytes
that arrived (tus 1.0 §"PATCH": the server should store as much as it received) unless it
carried an ``Upload-Checksum``, which can only be checked over the whole chunk.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import anyio.to_thread
import sqlalchemy as sa

from hub._archive_db import FileInfo
from hub._errors import Conflict, HubError, InvalidInput, NotFound
from hub._hub import Hub
from hub._principal import Principal
from hub.archive._service import (
    ChecksumMismatch,
    FileClaims,
    Staged,
    check_claims,
    check_size,
    expires_in,
    finish_upload,
    uploads_dir,
    writable_record,
)
from hub.tables import FileUpload, utcnow

CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5")
WRITE_CHUNK = 1024 * 1024
_locks: dict[str, asyncio.Lock] = {}


class UploadGone(HubError):
    status = 410
    type_slug = "upload-expired"
    title_vi = "Phiên tải lên đã hết hạn"
    title_en = "Upload expired"


class UploadTooLong(HubError):
    status = 413
    type_slug = "upload-too-long"
    title_vi = "Vượt quá độ dài đã khai báo"
    title_en = "More bytes than Upload-Length"


@dataclass(frozen=True, slots=True)
class UploadState:
    id: str
    length: int
    offset: int
    expires_at: Any
    file: FileInfo | None = None


def part_path(hub: Hub, upload_id: str) -> Path:
    return uploads_dir(hub) / f"{upload_id}.part"


def _state(row: FileUpload, file: FileInfo | None = None) -> UploadState:
    return UploadState(row.id, row.upload_length, row.upload_offset, row.expires_at, file)


async def create_upload(
    hub: Hub, principal: Principal, *, record_id: str, length: int, claims: FileClaims
) -> UploadState:
    """Register an upload of ``length`` bytes for a record the principal may write."""
    if length < 1:
        raise InvalidInput("Tệp rỗng không được lưu trữ.", "An empty file cannot be archived.")
    check_size(hub, length, simple=False)
    claims = await check_claims(hub, claims)
    graph = await hub.catalog.agencies()
    async with hub.db.session() as session:
        await writable_record(session, principal, graph, record_id)
    upload_id = uuid.uuid4().hex
    await anyio.to_thread.run_sync(part_path(hub, upload_id).touch)
    row = FileUpload(
        id=upload_id, record_id=record_id, agency=principal.agency,
        client_id=principal.client_id, upload_length=length, upload_offset=0,
        meta={"name": claims.name, "media_type": claims.media_type,
              "language": claims.language, "role": claims.role, "sha256": claims.sha256},
        created_at=utcnow(), expires_at=expires_in(hub.settings.archive_upload_expiry_hours),
        completed=False,
    )
    async with hub.db.transaction() as session:
        session.add(row)
    return _state(row)


async def _load(hub: Hub, principal: Principal, upload_id: str) -> FileUpload:
    async with hub.db.session() as session:
        row = await session.get(FileUpload, upload_id) if len(upload_id) == 32 else None
    # Another agency's upload is answered like a missing one: ids are not to be probed.
    if row is None or row.agency != principal.agency:
        raise NotFound("Không tìm thấy phiên tải lên.", "Upload not found.")
    if not row.completed and row.expires_at < utcnow():
        raise UploadGone("Phiên tải lên đã hết hạn; hãy tải lại từ đầu.",
                         "The upload expired; start a new one.")
    return row


async def upload_state(hub: Hub, principal: Principal, upload_id: str) -> UploadState:
    return _state(await _load(hub, principal, upload_id))


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>`` (tus checksum extension)."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise InvalidInput(
            f"Thuật toán checksum không được hỗ trợ: {algorithm}.",
            f"Unsupported checksum algorithm: {algorithm}.",
        )
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except ValueError:
        raise InvalidInput("Upload-Checksum không hợp lệ.", "Invalid Upload-Checksum.") from None


async def append(
    hub: Hub,
    principal: Principal,
    upload_id: str,
    *,
    offset: int,
    chunks: AsyncIterator[bytes],
    checksum: tuple[str, bytes] | None = None,
) -> UploadState:
    """Append a PATCH body at ``offset``; on the last byte the file is checked, stored and
    attached (``UploadState.file``). A refused file ends the upload: nothing is kept."""
    lock = _locks.setdefault(upload_id, asyncio.Lock())
    try:
        async with lock:
            return await _append(hub, principal, upload_id, offset, chunks, checksum)
    finally:
        if not lock.locked():
            _locks.pop(upload_id, None)


async def _append(
    hub: Hub, principal: Principal, upload_id: str, offset: int,
    chunks: AsyncIterator[bytes], checksum: tuple[str, bytes] | None,
) -> UploadState:
    row = await _load(hub, principal, upload_id)
    if row.completed or offset != row.upload_offset:
        raise Conflict(
            f"Upload-Offset {offset} không khớp vị trí hiện tại {row.upload_offset}.",
            f"Upload-Offset {offset} does not match the current offset {row.upload_offset}.",
            offset=row.upload_offset,
        )
    path = part_path(hub, upload_id)
    digest = hashlib.new(checksum[0]) if checksum else None
    written = 0
    handle: BinaryIO = await anyio.to_thread.run_sync(path.open, "r+b")
    failed = True
    try:
        await anyio.to_thread.run_sync(handle.truncate, offset)  # drop bytes of a failed PATCH
        await anyio.to_thread.run_sync(handle.seek, offset)
        pending = bytearray()

        def flush(data: bytes) -> None:
            handle.write(data)
            if digest is not None:
                digest.update(data)

        try:
            async for chunk in chunks:
                if offset + written + len(pending) + len(chunk) > row.upload_length:
                    raise UploadTooLong(
                        "Nội dung vượt quá Upload-Length đã khai báo.",
                        "The body goes past the declared Upload-Length.",
                    )
                pending += chunk
                if len(pending) >= WRITE_CHUNK:
                    data, pending = bytes(pending), bytearray()
                    await anyio.to_thread.run_sync(flush, data)
                    written += len(data)
        finally:
            # Keep what arrived, also when the connection dropped mid-body.
            await anyio.to_thread.run_sync(flush, bytes(pending))
            written += len(pending)
            await anyio.to_thread.run_sync(handle.flush)
        if checksum is not None and digest is not None and digest.digest() != checksum[1]:
            raise ChecksumMismatch(
                "Checksum của đoạn dữ liệu không khớp; hãy gửi lại đoạn này.",
                "The chunk's checksum does not match; send this chunk again.",
            )
        failed = False
    finally:
        handle.close()
        # A checksummed chunk counts whole or not at all.
        keep = written if not (failed and checksum is not None) else 0
        if keep:
            await _advance(hub, row, offset, offset + keep)
    row.upload_offset = offset + keep
    if row.upload_offset < row.upload_length:
        return _state(row)
    return await _complete(hub, principal, row, path)


async def _advance(hub: Hub, row: FileUpload, start: int, end: int) -> None:
    async with hub.db.transaction() as session:
        result = await session.execute(
            sa.update(FileUpload)
            .where(FileUpload.id == row.id, FileUpload.upload_offset == start)
            .values(upload_offset=end,
                    expires_at=expires_in(hub.settings.archive_upload_expiry_hours))
        )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("Phiên tải lên đang được ghi bởi yêu cầu khác.",
                       "Another request is writing this upload.")


async def _complete(
    hub: Hub, principal: Principal, row: FileUpload, path: Path
) -> UploadState:
    meta = row.meta
    claims = FileClaims(name=meta["name"], media_type=meta.get("media_type"),
                        language=meta.get("language"), role=meta.get("role") or "main",
                        sha256=meta.get("sha256"))
    staged = Staged(path, row.upload_length)
    try:
        info, _ = await finish_upload(hub, principal, row.record_id, staged, claims)
    except BaseException:
        await _forget(hub, row.id)
        raise
    async with hub.db.transaction() as session:
        await session.execute(sa.update(FileUpload).where(FileUpload.id == row.id)
                              .values(completed=True, file_id=info.id))
    row.completed = True
    return _state(row, info)


async def _forget(hub: Hub, upload_id: str) -> None:
    async with hub.db.transaction() as session:
        await session.execute(sa.delete(FileUpload).where(FileUpload.id == upload_id))
    part_path(hub, upload_id).unlink(missing_ok=True)


async def terminate(hub: Hub, principal: Principal, upload_id: str) -> None:
    """tus termination: the upload and its bytes are dropped."""
    await _load(hub, principal, upload_id)
    await _forget(hub, upload_id)


async def clean_abandoned_uploads(hub: Hub) -> int:
    """Drop uploads past their expiry (no PATCH for ``archive_upload_expiry_hours``) and
    the records of completed ones older than that; returns how many were dropped. Run
    periodically (the worker), or by ``rightshub archive clean``."""
    now = utcnow()
    async with hub.db.session() as session:
        expired = list((await session.execute(
            sa.select(FileUpload.id).where(FileUpload.expires_at < now)
        )).scalars())
    for upload_id in expired:
        await _forget(hub, upload_id)
    return len(expired) + await _clean_stray_parts(hub)


async def _clean_stray_parts(hub: Hub) -> int:
    """Part files older than the expiry that no upload row names (a process died while
    staging a single-request upload, or after its row was dropped); returns how many."""
    cutoff = time.time() - hub.settings.archive_upload_expiry_hours * 3600

    def old_parts() -> list[Path]:
        found = []
        for path in uploads_dir(hub).glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    found.append(path)
        return found

    candidates = await anyio.to_thread.run_sync(old_parts)
    if not candidates:
        return 0
    async with hub.db.session() as session:
        known = set((await session.execute(sa.select(FileUpload.id).where(
            FileUpload.id.in_([p.stem for p in candidates])))).scalars())
    stray = [p for p in candidates if p.stem not in known]
    for path in stray:
        path.unlink(missing_ok=True)
    return len(stray)
