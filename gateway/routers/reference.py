"""The agency registry and the vocabularies, read-only (admins edit them in the security
issue's admin API)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from gateway._wire import AgencyList, AgencyOut, VocabularyOut
from gateway.deps import HubDep, Reader, SessionDep
from gateway.http._json import JSON
from gateway.http._params import IsoDate
from gateway.routers.records import PROBLEMS
from hub import Agency, AgencyGraph, NotFound, Vocabulary, VocabularyTerm

router = APIRouter(tags=["Reference data"], responses=PROBLEMS)


def _today() -> date:
    return date.today()


def _agency(graph: AgencyGraph, agency: Agency, day: date) -> dict[str, object]:
    return {
        "code": agency.code,
        "name": agency.name,
        "kind": agency.kind,
        "level": agency.level,
        "valid_from": agency.valid_from,
        "valid_until": agency.valid_until,
        "note": agency.note,
        "in_force": graph.valid_on(agency.code, day),
        "predecessors": sorted(graph.predecessors.get(agency.code, ())),
        "successors": sorted(graph.successors.get(agency.code, ())),
    }


@router.get("/agencies", summary="The agency registry as of a date", response_model=AgencyList)
async def agencies(
    _: Reader,
    hub: HubDep,
    as_of: Annotated[IsoDate | None, Query(description="Default: today")] = None,
    include_former: Annotated[
        bool, Query(description="Also list agencies that had ceased by that date")
    ] = False,
    level: Annotated[str | None, Query(pattern=r"^(central|provincial|local|other)$")] = None,
) -> Response:
    graph = await hub.catalog.agencies()
    day = as_of or _today()
    chosen = graph.agencies.values() if include_former else graph.as_of(day)
    items = [
        _agency(graph, a, day)
        for a in sorted(chosen, key=lambda a: (a.level, a.code))
        if level is None or a.level == level
    ]
    return JSON({"as_of": day, "items": items})


@router.get("/agencies/{code}", summary="One agency, with predecessors and successors",
            response_model=AgencyOut)
async def agency(
    _: Reader,
    hub: HubDep,
    code: Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9._-]+$")],
) -> Response:
    graph = await hub.catalog.agencies()
    found = graph.agencies.get(code)
    if found is None:
        raise NotFound(f"Không có cơ quan mã {code}.", f"No agency with code {code}.")
    return JSON(_agency(graph, found, _today()))


@router.get("/vocabularies", summary="Every vocabulary with its terms",
            response_model=list[VocabularyOut])
async def vocabularies(_: Reader, session: SessionDep) -> Response:
    return JSON(await _vocabularies(session, None))


@router.get("/vocabularies/{name}", summary="One vocabulary", response_model=VocabularyOut)
async def vocabulary(
    _: Reader,
    session: SessionDep,
    name: Annotated[str, Path(max_length=40, pattern=r"^[a-z_-]+$")],
) -> Response:
    found = await _vocabularies(session, name)
    if not found:
        raise NotFound(f"Không có danh mục {name}.", f"No vocabulary named {name}.")
    return JSON(found[0])


async def _vocabularies(session: AsyncSession, name: str | None) -> list[dict[str, object]]:

    stmt = sa.select(Vocabulary).order_by(Vocabulary.name)
    if name is not None:
        stmt = stmt.where(Vocabulary.name == name)
    vocabs = list((await session.execute(stmt)).scalars())
    terms = await session.execute(
        sa.select(VocabularyTerm)
        .where(VocabularyTerm.vocabulary.in_([v.name for v in vocabs]))
        .order_by(VocabularyTerm.vocabulary, VocabularyTerm.code)
    )
    by_vocab: dict[str, list[dict[str, object]]] = {}
    for t in terms.scalars():
        by_vocab.setdefault(t.vocabulary, []).append(
            {"code": t.code, "label_vi": t.label_vi, "label_en": t.label_en,
             "group": t.group, "active": t.active}
        )
    return [
        {"name": v.name, "label_vi": v.label_vi, "label_en": v.label_en, "version": v.version,
         "provisional": v.provisional, "terms": by_vocab.get(v.name, [])}
        for v in vocabs
    ]
