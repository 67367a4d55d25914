"""Row-level reads and writes of record files, shared by the ingest pipeline (a deleted record
lets go of its files), the change feed (each change carries the file list of its version) and
the archive service. No storage I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from hub._driver import dialect_name, fetch_rows
from hub.tables import RecordFile

CHUNK = 500


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One file attached to a record, as callers see it (``schemas.FileMeta`` on the wire)."""

    id: str
    record_id: str
    sha256: str
    size: int
    media_type: str
    name: str
    language: str | None
    role: str
    attached_at: datetime

    @classmethod
    def from_row(cls, row: RecordFile) -> FileInfo:
        return cls(row.id, row.record_id, row.sha256, row.size, row.media_type,
                   row.original_name, row.language, row.role, row.attached_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "sha256": self.sha256, "size": self.size,
            "media_type": self.media_type, "name": self.name, "language": self.language,
            "role": self.role, "attached_at": self.attached_at,
        }


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


_FILES = RecordFile.__table__
# FileInfo's fields, in its order, from record_files' columns.
_FILE_COLUMNS = [_FILES.c[name] for name in (
    "id", "record_id", "sha256", "size", "media_type", "original_name", "language", "role",
    "attached_at")]
_CURRENT = sa.select(*_FILE_COLUMNS).where(_FILES.c.detached_seq.is_(None)).order_by(
    _FILES.c.record_id, _FILES.c.attached_seq, _FILES.c.id)
# PostgreSQL: one statement whatever the number of ids (one array parameter), compiled once.
# An IN list is rendered again for every new length: ~0.3 ms a REST page (issue 20).
_CURRENT_ANY = _CURRENT.where(
    _FILES.c.record_id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.String))))


# FileInfo's fields but record_id (its row's own id), in its order.
_EMBEDDED = [c for c in _FILE_COLUMNS if c.key != "record_id"]


def current_files_column(record_id: sa.ColumnElement[str]) -> sa.Label[Any]:
    """PostgreSQL: the current files of the row's record as one column (``files``), an array
    of rows in :class:`FileInfo`'s order without ``record_id``, NULL for none; a list page
    then reads its records and their files in one statement (issue 20: the second statement
    was a tenth of a REST page's CPU). Read back with :func:`embedded_files`."""
    ordered = aggregate_order_by(sa.tuple_(*_EMBEDDED), _FILES.c.attached_seq, _FILES.c.id)
    return (sa.select(sa.func.array_agg(ordered, type_=sa.types.NullType()))
            .where(_FILES.c.record_id == record_id, _FILES.c.detached_seq.is_(None))
            .scalar_subquery().label("files"))


def embedded_files(record_id: str, value: Iterable[tuple[Any, ...]] | None) -> list[FileInfo]:
    """The files of :func:`current_files_column`, oldest first (asyncpg reads each as a
    tuple, its time zone-aware)."""
    return [FileInfo(f[0], record_id, *f[1:]) for f in value or ()]


async def current_file_lists(
    session: AsyncSession | AsyncConnection, record_ids: Iterable[str]
) -> dict[str, list[FileInfo]]:
    """Record id -> its attached files, oldest first; every id asked for gets a list."""
    ids = list(dict.fromkeys(record_ids))
    found: dict[str, list[FileInfo]] = {i: [] for i in ids}
    if not ids:
        return found
    if dialect_name(session) == "postgresql":
        parts = [(_CURRENT_ANY, {"ids": ids})]
    else:
        parts = [(_CURRENT.where(_FILES.c.record_id.in_(part)), {}) for part in _chunks(ids)]
    for stmt, params in parts:
        for row in await fetch_rows(session, stmt, params):
            found[row[1]].append(FileInfo(*row))
    return found


async def file_lists_at(
    session: AsyncSession, positions: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """(record id, change seq) -> the files that version had: attached at or before ``seq``
    and not detached by then. Lets the change feed and deliveries carry each version's list
    exactly, even when files changed again since."""
    wanted = list(dict.fromkeys(positions))
    found: dict[tuple[str, int], list[dict[str, Any]]] = {p: [] for p in wanted}
    by_record: dict[str, list[int]] = {}
    for record_id, seq in wanted:
        by_record.setdefault(record_id, []).append(seq)
    for part in _chunks(list(by_record)):
        rows = await session.execute(
            sa.select(RecordFile)
            .where(RecordFile.record_id.in_(part))
            .order_by(RecordFile.attached_seq, RecordFile.id)
        )
        for row in rows.scalars():
            for seq in by_record[row.record_id]:
                if row.attached_seq <= seq and (
                    row.detached_seq is None or row.detached_seq > seq
                ):
                    found[(row.record_id, seq)].append(FileInfo.from_row(row).as_dict())
    return found


async def detach_all(
    session: AsyncSession, seq_by_record: Mapping[str, int], at: datetime
) -> None:
    """Detach every file of the given records (deleted in this transaction at these change
    positions). The bytes stay while another record uses them (orphan collection decides)."""
    having: list[str] = []
    for part in _chunks(list(seq_by_record)):  # most deleted records have no file
        having.extend((await session.execute(
            sa.select(RecordFile.record_id).distinct()
            .where(RecordFile.record_id.in_(part), RecordFile.detached_seq.is_(None))
        )).scalars())
    for record_id in having:
        seq = seq_by_record[record_id]
        await session.execute(
            sa.update(RecordFile)
            .where(RecordFile.record_id == record_id, RecordFile.detached_seq.is_(None))
            .values(detached_seq=seq, detached_at=at)
        )
