"""Administering the agency registry (hub admins only): create and update agencies with
their validity dates and successor links. The catalog cache is dropped after each change."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub import Conflict, Hub, InvalidInput, NotFound
from hub.tables import Agency, AgencyPublic, AgencySuccession

_CODE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")


@dataclass(frozen=True)
class SuccessorLink:
    code: str
    effective_on: date
    note: str | None = None


async def _public(session: AsyncSession, row: Agency) -> AgencyPublic:
    links = await session.scalars(
        sa.select(AgencySuccession).where(AgencySuccession.predecessor_code == row.code)
    )
    return AgencyPublic.of(row, links.all())


async def list_agencies(hub: Hub, *, agency: str | None = None) -> list[dict[str, Any]]:
    """The agencies (all, or the one of ``agency``) as :class:`AgencyPublic` dumps: the
    console reads them as dicts."""
    async with hub.db.session() as session:
        query = sa.select(Agency).order_by(Agency.code)
        if agency is not None:
            query = query.where(col(Agency.code) == agency)
        agencies = list((await session.scalars(query)).all())
        links: dict[str, list[AgencySuccession]] = {}
        for s in (await session.scalars(sa.select(AgencySuccession))).all():
            links.setdefault(s.predecessor_code, []).append(s)
    return [AgencyPublic.of(a, links.get(a.code, ())).model_dump() for a in agencies]


def _check_dates(valid_from: date | None, valid_until: date | None) -> None:
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        raise InvalidInput(
            "valid_until phải sau valid_from.", "valid_until must not be before valid_from."
        )


async def _set_successors(
    session: AsyncSession, code: str, links: list[SuccessorLink]
) -> None:
    for link in links:
        if link.code == code:
            raise InvalidInput("Cơ quan không thể kế nhiệm chính nó.",
                               "An agency cannot succeed itself.")
        if await session.get(Agency, link.code) is None:
            raise NotFound(f"Không có cơ quan {link.code}.", f"Unknown agency {link.code}.")
        if await _reaches(session, link.code, code):
            raise InvalidInput("Liên kết kế nhiệm tạo vòng lặp.",
                               "The succession link would make a cycle.")
    await session.execute(
        sa.delete(AgencySuccession).where(AgencySuccession.predecessor_code == code)
    )
    for link in links:
        session.add(AgencySuccession(predecessor_code=code, successor_code=link.code,
                                     effective_on=link.effective_on, note=link.note))
    await session.flush()


async def _reaches(session: AsyncSession, start: str, goal: str) -> bool:
    """Whether ``goal`` is ``start`` or one of its successors, transitively."""
    seen, stack = {start}, [start]
    while stack:
        current = stack.pop()
        if current == goal:
            return True
        rows = await session.scalars(
            sa.select(AgencySuccession.successor_code)
            .where(AgencySuccession.predecessor_code == current)
        )
        for nxt in rows.all():
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


async def create_agency(
    hub: Hub,
    session: AsyncSession,
    *,
    code: str,
    name: str,
    kind: str,
    level: str,
    valid_from: date | None = None,
    valid_until: date | None = None,
    note: str | None = None,
    successors: list[SuccessorLink] | None = None,
) -> AgencyPublic:
    if not _CODE.match(code):
        raise InvalidInput("Mã cơ quan không hợp lệ.", "Invalid agency code.")
    _check_dates(valid_from, valid_until)
    if await session.get(Agency, code) is not None:
        raise Conflict(f"Cơ quan {code} đã tồn tại.", f"Agency {code} exists.")
    row = Agency(code=code, name=name, kind=kind, level=level, valid_from=valid_from,
                 valid_until=valid_until, note=note)
    session.add(row)
    await session.flush()
    if successors:
        await _set_successors(session, code, successors)
    hub.catalog.invalidate()
    return await _public(session, row)


async def update_agency(
    hub: Hub,
    session: AsyncSession,
    code: str,
    *,
    successors: list[SuccessorLink] | None = None,
    **values: Any,
) -> AgencyPublic:
    row = await session.get(Agency, code)
    if row is None:
        raise NotFound(f"Không có cơ quan {code}.", f"Unknown agency {code}.")
    allowed = {"name", "kind", "level", "valid_from", "valid_until", "note"}
    if set(values) - allowed:
        raise ValueError(f"cannot update {sorted(set(values) - allowed)}")
    _check_dates(values.get("valid_from", row.valid_from),
                 values.get("valid_until", row.valid_until))
    for name, value in values.items():
        setattr(row, name, value)
    await session.flush()
    if successors is not None:
        await _set_successors(session, code, successors)
    hub.catalog.invalidate()
    return await _public(session, row)
