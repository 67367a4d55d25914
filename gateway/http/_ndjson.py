"""NDJSON streaming ingest: loads larger than one batch, one record per line.

The body is read as it arrives and ingested in chunks of ``max_batch_records``, each in its
own transaction, so memory stays flat whatever the size. A retried stream is safe: records
already written come back as "unchanged"; with an ``Idempotency-Key`` the whole answer is
remembered, with a hash of the whole body, once the stream has been ingested completely. A key
already used makes the hub read (not ingest) the body, to tell a retry (the first answer again)
from a different stream (422), as for JSON batches.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import Request

from hub import (
    UTF8_BOM,
    Conflict,
    Hub,
    IdempotencyRequest,
    ImportSummary,
    Principal,
    Rejection,
    StoredAnswer,
    strict_json,
)

DuplicateKey, StrictJSONError = strict_json.DuplicateKey, strict_json.StrictJSONError
json_loads = strict_json.loads

MAX_LINE_BYTES = 1024 * 1024


def _body_digest(record_type: str) -> Any:
    # The same digest as hub.request_hash(record_type, body) for a JSON batch.
    digest = hashlib.sha256(record_type.encode())
    digest.update(b"\x00")
    return digest


async def _lines(request: Request, digest: Any) -> AsyncIterator[bytes | None]:
    """Lines of the body; ``None`` stands for a line that was too long (and skipped)."""
    buffer = bytearray()
    skipping = False
    async for chunk in request.stream():
        digest.update(chunk)
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                if not skipping:
                    buffer += chunk[start:]
                    if len(buffer) > MAX_LINE_BYTES:
                        buffer.clear()
                        skipping = True
                break
            if skipping:
                skipping = False
                yield None
            else:
                buffer += chunk[start:end]
                yield bytes(buffer)
            buffer.clear()
            start = end + 1
    if skipping:
        yield None
    elif buffer.strip():
        yield bytes(buffer)


def _line_rejection(index: int, code: str, vi: str, en: str) -> Rejection:
    return Rejection(index, None, "", code, vi, en)


async def ingest_ndjson(
    request: Request,
    hub: Hub,
    principal: Principal,
    record_type: str,
    *,
    dry_run: bool,
    idempotency_key: str | None,
) -> ImportSummary | StoredAnswer:
    digest = _body_digest(record_type)
    use_key = idempotency_key is not None and not dry_run
    key = idempotency_key or ""
    if use_key and await hub.ingest.key_in_use(principal, key):
        async for chunk in request.stream():
            digest.update(chunk)
        digest.update(b"\x00")
        stored = await hub.ingest.replay(principal, IdempotencyRequest(key, digest.hexdigest()))
        if stored is not None:
            return stored
    # The key is held while the stream is read: a concurrent send of it waits (409) instead
    # of running beside this one and storing an answer that counts only its own part.
    if use_key and not await hub.ingest.claim(principal, key):
        raise Conflict(
            "Một yêu cầu khác với cùng Idempotency-Key đang được xử lý; hãy gửi lại sau khi "
            "nó kết thúc để nhận kết quả của nó.",
            "Another request with this Idempotency-Key is in progress; retry when it has "
            "finished to get its answer.",
        )
    try:
        return await _ingest_stream(request, hub, principal, record_type, digest,
                                    dry_run=dry_run, key=key if use_key else None)
    except BaseException:
        if use_key:
            await hub.ingest.release(principal, key)
        raise


async def _ingest_stream(
    request: Request, hub: Hub, principal: Principal, record_type: str, digest: Any, *,
    dry_run: bool, key: str | None,
) -> ImportSummary:
    batch_id = uuid.uuid4().hex
    limit = hub.ingest.max_batch
    total = ImportSummary(dry_run=dry_run)
    items: list[Any] = []
    indexes: list[int] = []

    async def flush() -> None:
        if items:
            result = await hub.ingest.ingest(
                principal, record_type, items, dry_run=dry_run, batch_id=batch_id,
                indexes=indexes,
            )
            assert isinstance(result, ImportSummary)
            total.add(result)
        items.clear()
        indexes.clear()

    # A rejection's index is the line a person sees in the body (1-based, blank lines
    # counted), as in file imports: the message and the index name the same line.
    index = 0
    async for line in _lines(request, digest):
        index += 1
        if index == 1 and line is not None and line.startswith(UTF8_BOM):
            line = line[len(UTF8_BOM) :]
        if line is not None and not line.strip():
            continue
        if line is None:
            total.rejections.append(_line_rejection(
                index, "line_too_long",
                f"Dòng {index} dài quá {MAX_LINE_BYTES} byte.",
                f"Line {index} is longer than {MAX_LINE_BYTES} bytes.",
            ))
            total.rejected += 1
            continue
        try:
            item = json_loads(line)
        except orjson.JSONDecodeError as exc:
            total.rejections.append(_line_rejection(
                index, "invalid_json",
                f"Dòng {index} không phải JSON hợp lệ (UTF-8): {exc.msg}.",
                f"Line {index} is not valid JSON (UTF-8): {exc.msg}.",
            ))
            total.rejected += 1
            continue
        except StrictJSONError as exc:
            total.rejections.append(_line_rejection(
                index, "duplicate_key" if isinstance(exc, DuplicateKey) else "invalid_json",
                f"Dòng {index}: {exc.message_vi}.", f"Line {index}: {exc.message_en}.",
            ))
            total.rejected += 1
            continue
        items.append(item)
        indexes.append(index)
        if len(items) >= limit:
            await flush()
    await flush()
    total.rejections.sort(key=lambda r: r.index)
    if key is not None:
        digest.update(b"\x00")
        await hub.ingest.remember(principal, IdempotencyRequest(key, digest.hexdigest()), total)
    return total
