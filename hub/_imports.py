"""File import flow: rows of a file through the ingest pipeline, a chunk at a time.

Used by ``rightshub import`` and (later) the console's upload page. For files, a rejection's
``index`` is the line (NDJSON, CSV) or spreadsheet row (XLSX) a person sees in an editor.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from hub._ingest import IngestPipeline
from hub._principal import Principal
from hub._summary import ImportSummary, Rejection

DEFAULT_CHUNK = 1000


async def import_rows(
    pipeline: IngestPipeline,
    principal: Principal,
    record_type: str,
    rows: Iterable[Any],
    *,
    dry_run: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Ingest every row; each chunk commits on its own, so a crash loses at most one chunk,
    and running the same file again reports what was already written as unchanged. A chunk
    is at most the pipeline's batch (``IngestPipeline.max_batch``)."""
    chunk_size = min(chunk_size, pipeline.max_batch)
    principal = principal.via("file")
    batch_id = uuid.uuid4().hex
    total = ImportSummary(dry_run=dry_run)
    items: list[Any] = []
    lines: list[int] = []

    async def flush() -> None:
        if items:
            result = await pipeline.ingest(
                principal, record_type, items, dry_run=dry_run, batch_id=batch_id, indexes=lines
            )
            assert isinstance(result, ImportSummary)
            total.add(result)
            if on_progress is not None:
                on_progress(len(items))
        items.clear()
        lines.clear()

    for row in rows:
        if row.error is not None:
            total.rejections.append(
                Rejection(row.line, None, "", "unreadable_row", row.error[0], row.error[1])
            )
            total.rejected += 1
            continue
        items.append(row.item)
        lines.append(row.line)
        if len(items) >= chunk_size:
            await flush()
    await flush()
    total.rejections.sort(key=lambda r: r.index)
    return total
