"""Reading the audit log for admins: filters and keyset pagination on ``seq`` (newest first).

Agency admins see only the entries of their agency (``auth._policy.tenant_filter``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hub import Hub, decode_cursor, encode_cursor
from hub.tables import AuditEntry


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditFilter:
    agency: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq, "at": entry.at, "actor": entry.actor,
        "actor_kind": entry.actor_kind, "agency": entry.agency, "action": entry.action,
        "target": entry.target, "request_id": entry.request_id, "outcome": entry.outcome,
        "details": entry.details, "entry_hash": entry.entry_hash,
    }


async def query_audit(
    hub: Hub, flt: AuditFilter, *, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    conditions: list[sa.ColumnElement[bool]] = []
    if flt.agency is not None:
        conditions.append(AuditEntry.agency == flt.agency)
    if flt.actor is not None:
        conditions.append(AuditEntry.actor == flt.actor)
    if flt.action is not None:
        # "admin.clients" matches every action of that family ("admin.clients.create", ...).
        conditions.append(sa.or_(AuditEntry.action == flt.action,
                                 AuditEntry.action.startswith(flt.action + ".",
                                                              autoescape=True)))
    if flt.since is not None:
        conditions.append(AuditEntry.at >= flt.since)
    if flt.until is not None:
        conditions.append(AuditEntry.at < flt.until)
    if cursor is not None:
        (before,) = decode_cursor(cursor, length=1)
        conditions.append(AuditEntry.seq < before)
    query = (
        sa.select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc()).limit(limit + 1)
    )
    async with hub.db.session() as session:
        rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].seq]) if more and rows else None
    return [entry_dict(r) for r in rows], next_cursor
