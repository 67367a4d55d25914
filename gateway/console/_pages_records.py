"""The records browser: search without diacritics, filters, one record with its history.

An agency admin sees what its agency's systems see (its own records, and every shared or
public one); a hub admin sees every record."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.responses import Response

import schemas
from gateway.console._forms import ident, query_text
from gateway.console._i18n import parse_date
from gateway.console._labels import kind_vocabulary
from gateway.console._pages_auth import User
from gateway.console._pages_files import files_of
from gateway.console._render import ConsoleRoute, render
from gateway.console._session import ConsoleUser, language
from gateway.deps import HubDep
from hub import AgencyGraph, InvalidInput, NotFound, RecordFilter, get_record_by_id, list_records
from hub.archive import ROLES
from hub.tables import RecordChange, VocabularyTerm

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PAGE = 25


@dataclasses.dataclass(frozen=True)
class _HubWide(AgencyGraph):
    """The registry as a hub admin's reads see it: its "own" records are every agency's."""

    def rolled_up(self, code: str) -> frozenset[str]:
        if code == "":
            return frozenset(self.agencies)
        return AgencyGraph.rolled_up(self, code)


async def _graph(hub: Any, user: ConsoleUser) -> AgencyGraph:
    graph: AgencyGraph = await hub.catalog.agencies()
    if user.is_hub_admin:
        return _HubWide(graph.agencies, graph.predecessors, graph.successors)
    return graph


def _day(request: Request, name: str, label: str) -> Any:
    try:
        return parse_date(query_text(request, name, max_length=20))
    except (ValueError, OverflowError):
        raise InvalidInput(f"Ngày không hợp lệ ({label}): nhập theo dạng dd/mm/yyyy.",
                           f"Invalid date ({label}): use dd/mm/yyyy.") from None


@router.get("/records")
async def records_page(request: Request, user: User, hub: HubDep) -> Response:
    record_type = query_text(request, "type", max_length=40) or "products"
    if record_type not in schemas.RECORD_TYPES:
        record_type = "products"
    f = {name: query_text(request, name) for name in
         ("q", "agency", "kind", "theme", "language", "date_from", "date_to", "cursor")}
    flt = RecordFilter(
        q=f["q"] or None, agency=f["agency"] or None, kind=f["kind"] or None,
        theme=f["theme"] or None, language=f["language"] or None,
        date_from=_day(request, "date_from", "từ ngày"),
        date_to=_day(request, "date_to", "đến ngày"),
    )
    graph = await _graph(hub, user)
    try:
        async with hub.db.session() as session:
            page = await list_records(session, user.principal, graph, record_type, flt,
                                      limit=PAGE, cursor=f["cursor"] or None)
    except (ValueError, TypeError):  # a hand-edited cursor
        raise InvalidInput("Con trỏ phân trang không hợp lệ.", "Invalid cursor.") from None
    names = {c: a.name for c, a in graph.agencies.items()}
    query = {k: v for k, v in f.items() if v and k != "cursor"}
    query["type"] = record_type
    kind_vocab = kind_vocabulary(record_type)
    vocab = await _terms(hub, language(request),
                         ("theme", "language", *([kind_vocab] if kind_vocab else [])))
    if kind_vocab:
        vocab["kind"] = vocab.pop(kind_vocab)
    return render(request, "records.html", {
        "types": schemas.RECORD_TYPES, "record_type": record_type, "f": f, "page": page,
        "names": names, "query": query, "vocab": vocab,
        "kind_field": schemas.RECORD_TYPES[record_type].kind_field,
    })


async def _terms(hub: Any, lang: str, names: tuple[str, ...]) -> dict[str, list[tuple[str, str]]]:
    """Codes and labels of some vocabularies, for the filter lists."""
    found: dict[str, list[tuple[str, str]]] = {name: [] for name in names}
    async with hub.db.session() as session:
        rows = await session.execute(
            sa.select(VocabularyTerm.vocabulary, VocabularyTerm.code, VocabularyTerm.label_vi,
                      VocabularyTerm.label_en)
            .where(VocabularyTerm.vocabulary.in_(names), VocabularyTerm.active.is_(True))
            .order_by(VocabularyTerm.vocabulary, VocabularyTerm.code))
        for vocabulary, code, vi, en in rows:
            found[vocabulary].append((code, en if lang == "en" else vi))
    return found


@router.get("/records/{record_id}")
async def record_page(record_id: str, request: Request, user: User, hub: HubDep) -> Response:
    graph = await _graph(hub, user)
    async with hub.db.session() as session:
        record = await get_record_by_id(session, user.principal, graph, ident(record_id))
        if record is None:
            raise NotFound("Không tìm thấy hồ sơ.", "Record not found.")
        history = list((await session.scalars(
            sa.select(RecordChange).where(RecordChange.record_id == record.id)
            .order_by(RecordChange.seq.desc()).limit(100)
        )).all())
    record_type = schemas.RECORD_TYPES.get(record.record_type)
    return render(request, "record.html", {
        "r": record, "history": history, "record_type": record_type, "file_roles": ROLES,
        "kind_field": record_type.kind_field if record_type else None,
        "kind_vocab": kind_vocabulary(record.record_type),
        "files": await files_of(hub, user, record.id, record.owner_agency),
        "agency_name": graph.agencies[record.owner_agency].name
        if record.owner_agency in graph.agencies else record.owner_agency,
    })
