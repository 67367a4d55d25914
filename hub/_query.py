"""Reading records: filters, visibility, keyset pagination, diacritic-insensitive search."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

import schemas
from hub._archive_db import (
    FileInfo,
    current_file_lists,
    current_files_column,
    embedded_files,
)
from hub._cursor import decode_cursor, encode_cursor
from hub._driver import dialect_name, fetch_rows
from hub._errors import InvalidInput
from hub._phrase import SEPARATOR, HasWordPairs, holds_pairs, word_pairs
from hub._principal import Principal
from hub._registry import AgencyGraph
from hub.tables import Record, RecordFacet

SHARED_VISIBILITIES = ("shared", "public")
# Refused in search text (PostgreSQL cannot hold NUL in text; the others are never typed).
_CONTROL = re.compile(f"[{schemas.CONTROL_CHARACTERS}]")

# The tables' columns, not the mapped classes' attributes: a statement built from attributes is
# an ORM statement, which SQLAlchemy compiles into a new statement object at every execution
# and then adapts the cached result metadata to it (~7 % of a GraphQL page's CPU, py-spy).
RECORDS = Record.__table__.c
FACETS = RecordFacet.__table__.c

# What a list page needs, selected as plain rows: building ORM objects for every row of a page
# cost more than the query itself (bench/read).
ENVELOPE_COLUMNS = (
    RECORDS.id, RECORDS.record_type, RECORDS.owner_agency, RECORDS.source_id, RECORDS.version,
    RECORDS.content_hash, RECORDS.created_at, RECORDS.updated_at, RECORDS.deleted,
    RECORDS.visibility, RECORDS.provenance, RECORDS.data, RECORDS.seq,
)
_DATA_AT = [c.key for c in ENVELOPE_COLUMNS].index("data")


def envelope_columns(content_keys: frozenset[str] | None, *, postgresql: bool,
                     content_text: bool = False) -> list[Any]:
    """ENVELOPE_COLUMNS, with only ``content_keys`` of the content when they are given and the
    database is PostgreSQL (``jsonb_build_object``; a key the record lacks reads as null). A
    product's content is ~900 bytes of JSON and ~20 keys: a GraphQL page asking for six of
    them spent more CPU decoding and copying the rest than on anything else (bench/graphql).
    SQLite returns the whole content (it is not the read-heavy deployment).

    ``content_text``: the content as the database's JSON text, not parsed, for a caller that
    only writes it out again (REST pages embed it with ``orjson.Fragment``): parsing ~900
    bytes per product and serialising them again was a fifth of a REST page's CPU (py-spy,
    bench read)."""
    columns: list[Any] = list(ENVELOPE_COLUMNS)
    if content_text:
        columns[_DATA_AT] = sa.cast(RECORDS.data, sa.Text).label("data")
    elif content_keys is not None and postgresql:
        pairs: list[Any] = []
        for key in sorted(content_keys):
            pairs += [sa.literal(key), RECORDS.data[key]]
        columns[_DATA_AT] = sa.func.jsonb_build_object(*pairs, type_=RECORDS.data.type).label(
            "data")
    return columns


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
    items: list[Any]  # rows with the ENVELOPE_COLUMNS, read by attribute like a Record
    next_cursor: str | None
    # Record id -> its current files, when asked for (``list_records(with_files=True)``).
    files: dict[str, list[FileInfo]] | None = None


# agency -> (the registry it was built from, the condition). Building the IN clause took
# ~0.1 ms a request (py-spy on bench/graphql); a condition is immutable, so one per agency
# serves every request until the catalog reloads the registry (a new graph object).
_VISIBLE: dict[str, tuple[AgencyGraph, sa.ColumnElement[bool]]] = {}


def visible_to(principal: Principal, graph: AgencyGraph) -> sa.ColumnElement[bool]:
    """What a principal may read: its own records (and those of agencies it succeeded), every
    ``shared`` and every ``public`` record."""
    cached = _VISIBLE.get(principal.agency)
    if cached is not None and cached[0] is graph:
        return cached[1]
    own = graph.rolled_up(principal.agency)
    # One parameter per value, not SQLAlchemy's "expanding" list parameter, which it renders
    # into the SQL again at every execution (~1 % of a GraphQL page's CPU, py-spy).
    condition = sa.or_(RECORDS.owner_agency.in_(_each(sorted(own))),
                       RECORDS.visibility.in_(_each(SHARED_VISIBILITIES)))
    if len(_VISIBLE) > 10_000:  # bounded: agencies are a few hundred
        _VISIBLE.clear()
    _VISIBLE[principal.agency] = (graph, condition)
    return condition


def _each(values: Iterable[str]) -> list[sa.BindParameter[str]]:
    return [sa.bindparam(None, value, type_=sa.String) for value in values]


def has_facet(facet: str, code: str | Sequence[str]) -> sa.ColumnElement[bool]:
    """Records with the facet ``code`` (or one of the ``code`` list), through the facet
    look-up index (facet, code, record_id)."""
    matches = FACETS.code == code if isinstance(code, str) else FACETS.code.in_(code)
    return RECORDS.id.in_(sa.select(FACETS.record_id).where(FACETS.facet == facet,
                                                                 matches))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _as_isbn(q: str) -> str | None:
    digits = q.strip().upper().replace("-", "").replace(" ", "")
    digits = digits.removeprefix("ISBN").lstrip(":")
    return digits if schemas.isbn_is_valid(digits) else None


def _inlined(text: str) -> sa.BindParameter[str]:
    """A search pattern written into the SQL text rather than sent as a parameter.

    PostgreSQL switches a prepared statement (asyncpg prepares every statement) to a generic
    plan after five runs on a connection; a generic plan cannot see a ``LIKE`` pattern, so it
    guessed how many rows match and, for common words at 1,000,000 records, walked 1.6 s of
    index where the pattern's own plan took 30 ms (the sixth run of one search, in process).
    Inlined, each pattern is planned with its value. SQLAlchemy quotes it (``literal_execute``
    renders after the statement cache, so compiled statements are still shared)."""
    return sa.bindparam(None, text, type_=sa.Text, literal_execute=True)


def _search(q: str) -> tuple[list[sa.ColumnElement[bool]], list[sa.ColumnElement[bool]]]:
    """Every folded word must occur in the searchable text. Matches fall in four tiers, shown
    in order: title equals the phrase, title starts with it, title contains it (its words
    whole: ``hub._phrase``), the rest.

    Tiers are separate conditions (not one CASE to sort by), so each tier's page is read in
    ``seq`` order through an index, whatever the number of matches (bench/scale).

    A ``q`` that is a valid ISBN looks the book up by its ISBN (an indexed facet), in one
    tier: substring search for a 13-digit number walks the trigram index's long posting
    lists of common digit triples, and grows with the table."""
    isbn = _as_isbn(q)
    if isbn is not None:
        return [has_facet("isbn", isbn)], [sa.true()]
    folded = schemas.fold(q)
    words = folded.split()
    if not words or len(folded) > 200 or _CONTROL.search(q):
        raise InvalidInput(
            "Từ khoá tìm kiếm q phải có từ 1 đến 200 ký tự, không có ký tự điều khiển.",
            "The search text q must have 1 to 200 characters and no control characters.",
        )
    conditions: list[sa.ColumnElement[bool]] = [
        RECORDS.search_text.like(_inlined(f"%{_like_escape(w)}%"), escape="\\") for w in words
    ]
    phrase = _like_escape(folded)
    exact = RECORDS.title_folded == _inlined(folded)
    prefix = RECORDS.title_folded.like(_inlined(f"{phrase}%"), escape="\\")
    contains: sa.ColumnElement[bool] = RECORDS.title_folded.like(
        _inlined(f"%{phrase}%"), escape="\\")
    pairs = word_pairs(folded)
    if pairs:  # the phrase's word pairs first: their index is what keeps the tier fast
        contains = sa.and_(
            HasWordPairs(RECORDS.title_folded, _inlined(SEPARATOR.join(sorted(set(pairs))))),
            contains,
        )
    tiers = [exact, sa.and_(prefix, ~exact), sa.and_(contains, ~prefix), ~contains]
    return conditions, tiers


def search_tiers(q: str, titles: Iterable[str]) -> list[int]:
    """The tier of :func:`_search` that holds each record with these titles (for cursors that
    point at the records): what the tiers' SQL conditions say, evaluated in Python."""
    if _as_isbn(q) is not None:
        return [0 for _ in titles]  # one tier
    phrase = schemas.fold(q)
    pairs = word_pairs(phrase)

    def tier(title: str) -> int:
        folded = schemas.fold(title)
        if folded == phrase:
            return 0
        if folded.startswith(phrase):
            return 1
        return 2 if phrase in folded and holds_pairs(folded, pairs) else 3

    return [tier(title) for title in titles]


def filter_conditions(
    principal: Principal, graph: AgencyGraph, record_type: str | None, flt: RecordFilter
) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions of a list (visibility and every filter but ``q``), shared by lists
    and aggregates (``hub._stats``) so both count exactly what a caller may see.
    ``record_type`` None: every type."""
    conditions: list[sa.ColumnElement[bool]] = [visible_to(principal, graph)]
    if record_type is not None:
        conditions.insert(0, RECORDS.record_type == record_type)
    if not flt.include_deleted:
        conditions.append(RECORDS.deleted.is_(False))
    if flt.agency is not None:
        if not graph.exists(flt.agency):
            raise InvalidInput(
                f"Cơ quan {flt.agency} không có trong danh mục.",
                f"Agency {flt.agency} is not in the registry.",
            )
        conditions.append(RECORDS.owner_agency.in_(sorted(graph.rolled_up(flt.agency))))
    if flt.kind is not None:
        conditions.append(RECORDS.kind == flt.kind)
    for facet, code in (
        ("theme", flt.theme),
        ("language", flt.language),
        ("target_group", flt.target_group),
        ("channel", flt.channel),
    ):
        if code is not None:
            conditions.append(has_facet(facet, code))
    if flt.date_from is not None:
        conditions.append(RECORDS.primary_date >= flt.date_from)
    if flt.date_to is not None:
        conditions.append(RECORDS.primary_date <= flt.date_to)
    if flt.updated_since is not None:
        conditions.append(RECORDS.updated_at >= flt.updated_since)
    return conditions


# (agency, type, filter, after a cursor?) -> (the registry it was built from, the statement).
# A list without search built the same statement for every request: building it, its cache
# key and adapting the cached compilation to a new statement object were a fifth of a small
# page's cost (py-spy, bench/graphql). The page size and the cursor are bound parameters.
_PlainKey = tuple[str, str, RecordFilter, bool, frozenset[str] | None, bool, bool, bool]
_PLAIN_LISTS: dict[_PlainKey, tuple[AgencyGraph, sa.Select[Any]]] = {}


def _plain_list(principal: Principal, graph: AgencyGraph, record_type: str, flt: RecordFilter,
                after_cursor: bool, content_keys: frozenset[str] | None,
                postgresql: bool, content_text: bool, with_files: bool) -> sa.Select[Any]:
    key = (principal.agency, record_type, flt, after_cursor, content_keys, postgresql,
           content_text, with_files)
    cached = _PLAIN_LISTS.get(key)
    if cached is not None and cached[0] is graph:
        return cached[1]
    conditions = filter_conditions(principal, graph, record_type, flt)
    if after_cursor:
        conditions.append(RECORDS.seq < sa.bindparam("last_seq", type_=sa.BigInteger))
    columns: list[Any] = list(
        envelope_columns(content_keys, postgresql=postgresql, content_text=content_text))
    if with_files:
        columns.append(current_files_column(RECORDS.id))
    stmt = (sa.select(*columns).where(*conditions).order_by(RECORDS.seq.desc())
            .limit(sa.bindparam("page_limit", type_=sa.Integer)))
    if len(_PLAIN_LISTS) > 2_000:  # bounded: filters with timestamps are many
        _PLAIN_LISTS.clear()
    _PLAIN_LISTS[key] = (graph, stmt)
    return stmt


async def list_records(
    session: AsyncSession | AsyncConnection,
    principal: Principal,
    graph: AgencyGraph,
    record_type: str,
    flt: RecordFilter,
    *,
    limit: int,
    cursor: str | None,
    content_keys: frozenset[str] | None = None,
    content_text: bool = False,
    with_files: bool = False,
) -> Page:
    """A page of records, newest first (or by search tier, then newest, with ``flt.q``).
    ``content_keys``: the only keys of the content the caller reads (see
    :func:`envelope_columns`); None for all of it. ``content_text``: the content as JSON
    text (see there). ``with_files``: the page's files too (``Page.files``), in the same
    statement on PostgreSQL without search."""
    page = await _page(session, principal, graph, record_type, flt, limit=limit,
                       cursor=cursor, content_keys=content_keys, content_text=content_text,
                       with_files=with_files)
    if with_files and page.files is None:
        files = await current_file_lists(session, [row.id for row in page.items])
        return Page(page.items, page.next_cursor, files)
    return page


async def _page(
    session: AsyncSession | AsyncConnection,
    principal: Principal,
    graph: AgencyGraph,
    record_type: str,
    flt: RecordFilter,
    *,
    limit: int,
    cursor: str | None,
    content_keys: frozenset[str] | None,
    content_text: bool,
    with_files: bool,
) -> Page:
    postgresql = dialect_name(session) == "postgresql"
    if flt.q is None:
        params: dict[str, int] = {"page_limit": limit + 1}
        if cursor is not None:
            (params["last_seq"],) = decode_cursor(cursor, length=1)
        embed = with_files and postgresql
        stmt = _plain_list(principal, graph, record_type, flt, cursor is not None, content_keys,
                           postgresql, content_text, embed)
        rows = list(await fetch_rows(session, stmt, params))
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].seq]) if more and rows else None
        files = {row.id: embedded_files(row.id, row.files) for row in rows} if embed else None
        return Page(rows, next_cursor, files)

    conditions = filter_conditions(principal, graph, record_type, flt)
    words, tiers = _search(flt.q)
    conditions.extend(words)
    tier, last_seq = decode_cursor(cursor, length=2) if cursor is not None else (0, None)
    if not 0 <= tier < len(tiers):
        raise InvalidInput("Con trỏ phân trang (cursor) không hợp lệ.", "Invalid cursor.")
    found: list[tuple[int, Any]] = []
    columns = envelope_columns(content_keys, postgresql=postgresql, content_text=content_text)
    # Fill the page tier by tier; one row more than the page says whether another follows.
    for number in range(tier, len(tiers)):
        where = [*conditions, tiers[number]]
        if number == tier and last_seq is not None:
            where.append(RECORDS.seq < last_seq)
        stmt = sa.select(*columns).where(*where).order_by(RECORDS.seq.desc())
        tier_rows = await session.execute(stmt.limit(limit + 1 - len(found)))
        found.extend((number, row) for row in tier_rows)
        if len(found) > limit:
            break
    more = len(found) > limit
    found = found[:limit]
    next_cursor = None
    if more and found:
        last_tier, last_row = found[-1]
        next_cursor = encode_cursor([last_tier, last_row.seq])
    return Page([row for _, row in found], next_cursor)


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


# The wire names of ENVELOPE_COLUMNS but the last (seq), in their order.
_WIRE_NAMES = tuple("type" if c.key == "record_type" else c.key for c in ENVELOPE_COLUMNS[:-1])


def envelope(record: Any, files: list[Any] | None = None) -> dict[str, Any]:
    """The wire form of a record (``schemas.RecordEnvelope``), built without pydantic on the
    hot read path. ``record``: a row of ENVELOPE_COLUMNS (read by position: a Row's attribute
    look-ups were a tenth of a REST page's CPU, py-spy on bench read) or a Record. ``files``:
    its archived files (``hub._archive_db.FileInfo``); the key is left out when the caller
    did not read them."""
    if isinstance(record, sa.Row | tuple):  # a Core row, or one of hub._driver's
        wire = dict(zip(_WIRE_NAMES, record, strict=False))
    else:
        wire = {name: getattr(record, column.key)
                for name, column in zip(_WIRE_NAMES, ENVELOPE_COLUMNS, strict=False)}
    deleted = wire["deleted"]
    if deleted:
        wire["data"] = {}
    elif isinstance(wire["data"], str):  # the stored JSON text (``content_text``), as it is
        wire["data"] = orjson.Fragment(wire["data"])
    if files is not None:
        wire["files"] = [] if deleted else [f.as_dict() for f in files]
    return wire
