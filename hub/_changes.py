"""The change feed: every created, updated and deleted record version, in commit order.

``seq`` values are handed out under the change-feed lock by the transaction that commits
them (see :func:`hub._db.take_change_feed_lock`), so a consumer that asks for ``seq > cursor``
never skips a change that commits later with a smaller number: there is none. The log has
one writer, :mod:`hub._changelog`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hub._archive_db import file_lists_at
from hub._principal import Principal
from hub._query import SHARED_VISIBILITIES
from hub._registry import AgencyGraph
from hub.tables import RecordChange


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[dict[str, Any]]
    next_cursor: int
    has_more: bool


async def list_changes(
    session: AsyncSession,
    principal: Principal,
    graph: AgencyGraph,
    *,
    after: int,
    limit: int,
    record_type: str | None = None,
) -> ChangePage:
    """Changes after ``after`` that the principal may see.

    The cursor advances over every scanned change, visible or not, so a consumer always makes
    progress; changes of records it may not read are skipped, not hidden behind a gap. A record
    that becomes private reaches other agencies as a ``withdraw`` change without its content.
    """
    stmt = sa.select(RecordChange).where(RecordChange.seq > after)
    if record_type is not None:
        stmt = stmt.where(RecordChange.record_type == record_type)
    rows = (await session.execute(stmt.order_by(RecordChange.seq).limit(limit + 1))).scalars()
    scanned = list(rows)
    has_more = len(scanned) > limit
    scanned = scanned[:limit]
    own = graph.rolled_up(principal.agency)
    changes = []
    for c in scanned:
        if c.owner_agency in own or c.visibility in SHARED_VISIBILITIES:
            changes.append(_change(c))
        elif c.previous_visibility in SHARED_VISIBILITIES:
            # Made private: agencies that could read it must drop their copy.
            changes.append(withdrawal_of(_change(c)))
    # Each version's file list as it was at that change (product archive, hub.archive._service).
    lists = await file_lists_at(
        session, [(ch["record"]["id"], ch["seq"]) for ch in changes if ch["op"] == "upsert"]
    )
    for change in changes:
        change["record"]["files"] = lists.get((change["record"]["id"], change["seq"]), [])
    next_cursor = scanned[-1].seq if scanned else after
    return ChangePage(changes, next_cursor, has_more)


def _change(c: RecordChange) -> dict[str, Any]:
    return {
        "seq": c.seq,
        "op": c.op,
        "record": {
            "id": c.record_id,
            "type": c.record_type,
            "owner_agency": c.owner_agency,
            "source_id": c.source_id,
            "version": c.version,
            "content_hash": c.content_hash,
            "updated_at": c.changed_at,
            "deleted": c.op == "delete",
            "visibility": c.visibility,
            "provenance": c.provenance,
            "data": c.data or {},
        },
    }


def withdrawal_of(change: dict[str, Any]) -> dict[str, Any]:
    """``change`` as a ``withdraw``: what an agency that may no longer read the record gets.

    Nothing of the record is left, files included; ``change`` itself is not modified (the
    outbox withdraws changes it has already read from :func:`list_changes`).
    """
    record = {**change["record"], "content_hash": "", "data": {}, "provenance": {}, "files": []}
    return {**change, "op": "withdraw", "record": record}
