"""Reading records: filters, visibility, keyset pagination, diacritic-insensitive search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

import schemas
from hub._cursor import decode_cursor, encode_cursor
from hub._errors import InvalidInput
from hub._principal import Principal
from hub._registry import AgencyGraph
from hub._tables import Record, RecordFacet

SHARED_VISIBILITIES = ("shared", "public")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordFilter:
    agency: str | None = None
    kind: str | None = None
    theme: str | None = None
    language: str | None = None
    target_group: str | None = None
    channel: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    updated_since: datetime | None = None
    q: str | None = None
    include_deleted: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Record]
    next_cursor: str | None


def visible_to(principal: Principal, graph: AgencyGraph) -> sa.ColumnElement[bool]:
    """What a principal may read: its own records (and those of agencies it succeeded), every
    ``shared`` and every ``public`` record."""
    own = graph.rolled_up(principal.agency)
    return sa.or_(Record.owner_agency.in_(sorted(own)), Record.visibility.in_(SHARED_VISIBILITIES))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search(q: str) -> tuple[list[sa.ColumnElement[bool]], sa.ColumnElement[Any]]:
    """Every folded word must occur; exact title matches rank first, then title prefixes,
    then titles containing the phrase, then other matches."""
    folded = schemas.fold(q)
    words = folded.split()
    if not words or len(folded) > 200:
        raise InvalidInput(
            "Từ khoá tìm kiếm q phải có từ 1 đến 200 ký tự.",
            "The search text q must have 1 to 200 characters.",
        )
    conditions: list[sa.ColumnElement[bool]] = [
        Record.search_text.like(f"%{_like_escape(w)}%", escape="\\") for w in words
    ]
    phrase = _like_escape(folded)
    rank = sa.case(
        (Record.title_folded == folded, 0),
        (Record.title_folded.like(f"{phrase}%", escape="\\"), 1),
        (Record.title_folded.like(f"%{phrase}%", escape="\\"), 2),
        else_=3,
    )
    return conditions, rank


async def list_records(
    session: AsyncSession,
    principal: Principal,
    graph: AgencyGraph,
    record_type: str,
    flt: RecordFilter,
    *,
    limit: int,
    cursor: str | None,
) -> Page:
    conditions: list[sa.ColumnElement[bool]] = [
        Record.record_type == record_type,
        visible_to(principal, graph),
    ]
    if not flt.include_deleted:
        conditions.append(Record.deleted.is_(False))
    if flt.agency is not None:
        if not graph.exists(flt.agency):
            raise InvalidInput(
                f"Cơ quan {flt.agency} không có trong danh mục.",
                f"Agency {flt.agency} is not in the registry.",
            )
        conditions.append(Record.owner_agency.in_(sorted(graph.rolled_up(flt.agency))))
    if flt.kind is not None:
        conditions.append(Record.kind == flt.kind)
    for facet, code in (
        ("theme", flt.theme),
        ("language", flt.language),
        ("target_group", flt.target_group),
        ("channel", flt.channel),
    ):
        if code is not None:
            conditions.append(
                Record.id.in_(
                    sa.select(RecordFacet.record_id).where(
                        RecordFacet.facet == facet, RecordFacet.code == code
                    )
                )
            )
    if flt.date_from is not None:
        conditions.append(Record.primary_date >= flt.date_from)
    if flt.date_to is not None:
        conditions.append(Record.primary_date <= flt.date_to)
    if flt.updated_since is not None:
        conditions.append(Record.updated_at >= flt.updated_since)

    rank: sa.ColumnElement[Any] | None = None
    if flt.q is not None:
        words, rank = _search(flt.q)
        conditions.extend(words)
    if cursor is not None:
        if rank is None:
            (last_seq,) = decode_cursor(cursor, length=1)
            conditions.append(Record.seq < last_seq)
        else:
            last_rank, last_seq = decode_cursor(cursor, length=2)
            conditions.append(
                sa.or_(rank > last_rank, sa.and_(rank == last_rank, Record.seq < last_seq))
            )
    stmt = sa.select(Record).where(*conditions).limit(limit + 1)
    if rank is None:
        stmt = stmt.order_by(Record.seq.desc())
    else:
        stmt = stmt.add_columns(rank.label("rank")).order_by(rank, Record.seq.desc())
    rows = (await session.execute(stmt)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [row[0] for row in rows]
    next_cursor = None
    if more and rows:
        last: Any = rows[-1]
        keys: list[Any] = [last[0].seq] if rank is None else [last[1], last[0].seq]
        next_cursor = encode_cursor(keys)
    return Page(items, next_cursor)


async def get_record(
    session: AsyncSession,
    principal: Principal,
    graph: AgencyGraph,
    record_type: str,
    *,
    owner: str,
    source_id: str,
) -> Record | None:
    """One record by its natural key, if the principal may see it (tombstones included)."""
    stmt = sa.select(Record).where(
        Record.record_type == record_type,
        Record.owner_agency == owner,
        Record.source_id == source_id,
        visible_to(principal, graph),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_record_by_id(
    session: AsyncSession, principal: Principal, graph: AgencyGraph, record_id: str
) -> Record | None:
    stmt = sa.select(Record).where(Record.id == record_id, visible_to(principal, graph))
    return (await session.execute(stmt)).scalar_one_or_none()


def envelope(record: Record) -> dict[str, Any]:
    """The wire form of a record (``schemas.RecordEnvelope``), built without pydantic on the
    hot read path."""
    return {
        "id": record.id,
        "type": record.record_type,
        "owner_agency": record.owner_agency,
        "source_id": record.source_id,
        "version": record.version,
        "content_hash": record.content_hash,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "deleted": record.deleted,
        "visibility": record.visibility,
        "provenance": record.provenance,
        "data": {} if record.deleted else record.data,
    }
