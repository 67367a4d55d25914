"""The ``archive.overdue`` event: a state-funded product passed its deposit deadline without a
file (the archive duty, :mod:`hub.archive._duty`).

:func:`announce_overdue` is the worker's periodic check. It finds the products overdue today
that were never announced and writes one :class:`ArchiveOverdueNotice` each, with a ``seq``
taken from the change feed's counter under its lock: the notice is then an event among the
changes every subscription follows (same position, same ``evt_<seq>`` ids, replays and dead
letters alike), without being a change of the record (``/v1/changes`` does not show it). The
row's primary key is the product, so a product is announced once, whichever worker checks
and however often; one that is deposited late afterwards is not announced again.

:func:`notice_events` turns notices into events as a subscription's agency sees them: only
products it may read (own agencies', ``shared`` or ``public``), deleted ones left out.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hub import _changelog as changelog
from hub._files import VIETNAM
from hub._hub import Hub
from hub._query import SHARED_VISIBILITIES
from hub._registry import AgencyGraph
from hub.archive._duty import duty_products
from hub.tables import ArchiveOverdueNotice, Record, utcnow

EVENT_TYPE = "archive.overdue"
EVENT_OP = "overdue"  # the event's ``op`` (dead letters keep ops of up to 10 characters)
# Announced per transaction: a first check over years of unarchived products stays short.
ANNOUNCE_BATCH = 500


def vietnam_today() -> date:
    return datetime.now(VIETNAM).date()


async def announce_overdue(hub: Hub, *, today: date | None = None) -> int:
    """Announce every product overdue on ``today`` (Vietnam's day) not announced before;
    returns how many were announced now."""
    today = today or vietnam_today()
    overdue = [p for p in await duty_products(hub, today=today) if p.status == "overdue"]
    if not overdue:
        return 0
    announced = 0
    for start in range(0, len(overdue), ANNOUNCE_BATCH):
        chunk = overdue[start:start + ANNOUNCE_BATCH]
        async with hub.db.transaction() as session:
            seqs = await changelog.lock(session)
            # Checked under the lock: two workers checking at once announce a product once.
            known = set((await session.execute(
                sa.select(ArchiveOverdueNotice.record_id).where(
                    ArchiveOverdueNotice.record_id.in_([p.record_id for p in chunk]))
            )).scalars())
            now = utcnow()
            for p in chunk:
                if p.record_id in known or p.released_on is None or p.due_on is None:
                    continue
                session.add(ArchiveOverdueNotice(
                    record_id=p.record_id, seq=seqs.take(), released_on=p.released_on,
                    due_on=p.due_on, deposit_days=hub.settings.archive_deposit_days,
                    funding_source=p.funding_source, announced_at=now))
            if seqs.taken:
                await session.flush()
                await seqs.release(session)
                announced += seqs.taken
    return announced


def _event(notice: ArchiveOverdueNotice, record: Record) -> dict[str, Any]:
    return {
        "seq": notice.seq,
        "op": EVENT_OP,
        "type": EVENT_TYPE,
        "record": {
            "id": record.id, "type": record.record_type, "owner_agency": record.owner_agency,
            "source_id": record.source_id, "version": record.version,
            "visibility": record.visibility, "title": record.title,
            "data": record.data or {},
        },
        "archive": {
            "released_on": notice.released_on.isoformat(),
            "due_on": notice.due_on.isoformat(),
            "deposit_days": notice.deposit_days,
            "funding_source": notice.funding_source,
            "announced_at": notice.announced_at,
        },
    }


async def notice_events(
    session: AsyncSession, agency: str, graph: AgencyGraph, *, after: int, upto: int,
    seqs: list[int] | None = None,
) -> list[dict[str, Any]]:
    """The ``archive.overdue`` events with ``after < seq <= upto`` (or exactly ``seqs``) that
    agency ``agency`` may read, in ``seq`` order, without event ids (the outbox adds them)."""
    stmt = sa.select(ArchiveOverdueNotice, Record).join(
        Record, Record.id == ArchiveOverdueNotice.record_id)
    if seqs is not None:
        stmt = stmt.where(ArchiveOverdueNotice.seq.in_(seqs))
    else:
        stmt = stmt.where(ArchiveOverdueNotice.seq > after, ArchiveOverdueNotice.seq <= upto)
    own = graph.rolled_up(agency)
    events = []
    for notice, record in await session.execute(stmt.order_by(ArchiveOverdueNotice.seq)):
        if record.deleted:
            continue
        if record.owner_agency in own or record.visibility in SHARED_VISIBILITIES:
            events.append(_event(notice, record))
    return events
