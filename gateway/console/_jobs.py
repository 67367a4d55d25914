"""Long console actions (file imports) run as background tasks of the serving process; the
page polls their progress and never waits for them.

Jobs live in memory, per hub, the newest :data:`KEEP` kept: a progress page is served by the
process that runs the job (behind a load balancer, console sessions need affinity). What a
job writes goes through the one ingest pipeline, so a job lost with its process loses at most
one uncommitted chunk, and importing the file again reports the rest as unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

import schemas
from hub import Hub, HubError, ImportSummary, Principal, Row, import_rows, read_rows

log = structlog.get_logger("rightshub.console")

KEEP = 200
CHUNK = 200  # rows per ingest transaction: small enough for a moving progress bar


@dataclass
class ImportJob:
    id: str
    owner: str
    agency: str
    record_type: str
    filename: str
    dry_run: bool
    total: int
    state: str = "queued"  # queued -> running -> finished | failed
    done: int = 0
    summary: ImportSummary | None = None
    error: tuple[str, str] | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    def status(self, lang: str) -> dict[str, Any]:
        text = (f"{self.done:,}/{self.total:,} rows" if lang == "en"
                else f"{self.done:,}/{self.total:,} dòng".replace(",", "."))
        return {"id": self.id, "state": self.state, "done": self.done, "total": self.total,
                "progress_text": text}


_JOBS: weakref.WeakKeyDictionary[Hub, OrderedDict[str, ImportJob]] = weakref.WeakKeyDictionary()
_TASKS: set[asyncio.Task[None]] = set()


def _jobs(hub: Hub) -> OrderedDict[str, ImportJob]:
    found = _JOBS.get(hub)
    if found is None:
        found = _JOBS[hub] = OrderedDict()
    return found


def get_job(hub: Hub, job_id: str) -> ImportJob | None:
    return _jobs(hub).get(job_id)


def count_rows(path: Path, fmt: str) -> int:
    """About how many data rows a file holds (for the progress bar only)."""
    if fmt == "xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True)
            try:
                rows = book.worksheets[0].max_row or 1
            finally:
                book.close()
            return max(0, rows - 1)
        except Exception:  # a broken file: the import itself reports it
            return 0
    with path.open("rb") as stream:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 16), b""))
    return max(0, lines - (1 if fmt == "csv" else 0))


def start_import(hub: Hub, principal: Principal, *, owner: str, record_type: str,
                 path: Path, fmt: str, filename: str, dry_run: bool) -> ImportJob:
    job = ImportJob(secrets.token_urlsafe(12), owner, principal.agency, record_type, filename,
                    dry_run, count_rows(path, fmt))
    jobs = _jobs(hub)
    jobs[job.id] = job
    while len(jobs) > KEEP:
        jobs.popitem(last=False)
    task = asyncio.create_task(_run(hub, principal, job, path, fmt))
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return job


async def _run(hub: Hub, principal: Principal, job: ImportJob, path: Path, fmt: str) -> None:
    job.state = "running"
    model = schemas.RECORD_TYPES[job.record_type].model

    def counted(rows: Iterator[Row]) -> Iterator[Row]:
        for row in rows:
            job.done += 1
            yield row

    try:
        job.summary = await import_rows(
            hub.ingest, principal, job.record_type, counted(read_rows(path, model, fmt)),
            dry_run=job.dry_run, chunk_size=CHUNK,
        )
        job.total = max(job.total, job.done)
        job.state = "finished"
    except HubError as exc:
        job.error = (exc.detail_vi, exc.detail_en)
        job.state = "failed"
    except Exception as exc:  # the page must show a failure, never hang on "running"
        log.error("console_import_failed", error_type=type(exc).__name__)
        job.error = ("Lỗi hệ thống khi nhập tệp; hãy thử lại hoặc báo quản trị viên.",
                     "An internal error stopped the import; retry or tell an administrator.")
        job.state = "failed"
    finally:
        job.finished_at = datetime.now(UTC)
        with contextlib.suppress(OSError):
            os.unlink(path)
