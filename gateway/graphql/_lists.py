"""Lists as Relay connections, shared by the root lists and ``Agency.records``: argument
checks, the REST filters as an input type, page size, keyset cursors per edge.

No ``from __future__ import annotations``: Strawberry reads the input type's annotations."""

import re
from typing import Any

import strawberry

import schemas
from auth import RECORDS_READ
from gateway.graphql._context import Context
from gateway.graphql._loaders import record_source
from gateway.graphql._projection import connection_keys
from gateway.graphql._scalars import Date, DateTime
from gateway.routers.records import _utc
from hub import InvalidInput, RecordFilter, encode_cursor, list_records, search_tiers

Info = strawberry.Info[Context, None]
CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,500}$")


CODE = re.compile(r"^[A-Za-z0-9._-]{1,60}$")
SAFE_TEXT = re.compile(rf"^[^{schemas.CONTROL_CHARACTERS}]{{1,200}}$")
HEADER_TEXT = re.compile(r"^[\x20-\x7E]{1,500}$")
KEY_TEXT = re.compile(r"^[\x21-\x7E]{1,200}$")


def check(value: str | None, pattern: re.Pattern[str], name: str) -> None:
    if value is not None and not pattern.fullmatch(value):
        raise InvalidInput(f"Giá trị của {name} không hợp lệ.", f"Invalid value for {name}.")


@strawberry.input(description="The filters of a list, as in REST: agency (former agencies "
                  "roll up to their successors), kind, vocabulary codes, dates, text search.")
class RecordFilterInput:
    agency: str | None = None
    kind: str | None = None
    theme: str | None = None
    language: str | None = None
    target_group: str | None = None
    channel: str | None = None
    date_from: Date | None = None
    date_to: Date | None = None
    updated_since: DateTime | None = None
    q: str | None = strawberry.field(
        default=None, description="Search that ignores Vietnamese diacritics; exact first."
    )


def record_filter(given: RecordFilterInput | None) -> RecordFilter:
    if given is None:
        return RecordFilter()
    for name in ("agency", "kind", "theme", "language", "target_group", "channel"):
        check(getattr(given, name), CODE, name)
    check(given.q, SAFE_TEXT, "q")
    return RecordFilter(
        agency=given.agency, kind=given.kind, theme=given.theme, language=given.language,
        target_group=given.target_group, channel=given.channel,
        date_from=given.date_from,  # type: ignore[arg-type]  # parsed to a date by the scalar
        date_to=given.date_to,  # type: ignore[arg-type]
        updated_since=_utc(given.updated_since),  # type: ignore[arg-type]
        q=given.q,
    )


def enum_value(value: Any) -> str:
    """The value of a RecordTypeName argument (the member, or already its value)."""
    return str(getattr(value, "value", value))


def page_size(info: Info, first: int | None) -> int:
    settings = info.context.hub.settings
    maximum = settings.graphql_max_page_size
    if first is None:
        return min(settings.default_page_size, maximum)
    if not 1 <= first <= maximum:
        raise InvalidInput(
            f"first phải từ 1 đến {maximum} (số bản ghi tối đa một trang).",
            f"first must be between 1 and {maximum} (the largest page).",
        )
    return first


class PageConnection:
    """A page as a Relay connection. ``nodes`` are built at once; the per-edge cursors and
    ``pageInfo`` only when the query asks for them (most ask for ``nodes`` alone, and a cursor
    per row cost more than the row's fields)."""

    __slots__ = ("_cursors", "_flt", "_next_cursor", "_rows", "nodes")

    def __init__(self, rows: list[Any], next_cursor: str | None, flt: RecordFilter) -> None:
        self.nodes = [record_source(r) for r in rows]
        self._rows = rows
        self._next_cursor = next_cursor
        self._flt = flt
        self._cursors: list[str] | None = None

    def _edge_cursors(self) -> list[str]:
        if self._cursors is None:
            rows, flt = self._rows, self._flt
            if flt.q is None:
                self._cursors = [encode_cursor([r.seq]) for r in rows]
            else:
                tiers = search_tiers(flt.q, [r.data.get("title", "") for r in rows])
                self._cursors = [encode_cursor([tier, r.seq])
                                 for tier, r in zip(tiers, rows, strict=True)]
        return self._cursors

    @property
    def edges(self) -> list[dict[str, Any]]:
        return [{"cursor": c, "node": n}
                for c, n in zip(self._edge_cursors(), self.nodes, strict=True)]

    @property
    def page_info(self) -> dict[str, Any]:
        cursors = self._edge_cursors()
        return {"has_next_page": self._next_cursor is not None,
                "end_cursor": cursors[-1] if cursors else None}


async def list_page(
    info: Info, record_type: str, first: int | None, after: str | None, flt: RecordFilter,
    node_type: str,
) -> PageConnection:
    """A page of ``record_type`` as a connection whose nodes are of the GraphQL type
    ``node_type`` (the record type's object type, or the Record interface)."""
    context = info.context
    context.require(RECORDS_READ)
    size = page_size(info, first)
    check(after, CURSOR, "after")
    # Only the content the selection reads; with a search, the titles of edge cursors' tiers.
    keys = connection_keys(info.schema, info.selected_fields, node_type,
                           extra=("title",) if flt.q is not None else ())
    async with context.hub.db.read() as session:
        page = await list_records(session, context.principal, context.graph, record_type, flt,
                                  limit=size, cursor=after, content_keys=keys)
    return PageConnection(page.items, page.next_cursor, flt)
