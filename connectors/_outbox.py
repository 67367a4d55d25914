"""What a subscription receives: the change log read as an outbox, through the read policy.

The outbox is ``record_changes`` (see ``hub.tables``). Every event is a change of
the change feed as ``hub.list_changes`` shows it to the subscription's agency (own records,
``shared`` and ``public`` ones; a record made private arrives as a ``withdraw``), narrowed by
the subscription's filters and stamped with an event id derived from the change's ``seq``, so
a retried, redelivered or replayed event carries the same id. Between the changes come the
``archive.overdue`` events (``hub.archive._overdue``): their ``seq`` is from the same counter.

Theme filters look at each version: a record whose new version leaves the filter (or is
deleted, or withdrawn) is still delivered when its previous version matched, as a
``withdraw`` (or the ``delete``), so the subscriber's copy never keeps a record it should not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hub import CHANGE_FEED_LOCK, AgencyGraph, Principal, list_changes, withdrawal_of
from hub.archive import notice_events
from hub.tables import HubLock, RecordChange

EVENT_ID_PREFIX = "evt_"
MAX_SEQ = 2**63 - 1


def event_id(seq: int) -> str:
    """The de-duplication key of the event of change ``seq`` (the same for every attempt)."""
    return f"{EVENT_ID_PREFIX}{seq}"


@dataclass(frozen=True, slots=True)
class EventFilter:
    """A subscription's view: its agency's read policy and its filters (None = all)."""

    subscription_id: str
    agency: str
    record_types: frozenset[str] | None = None
    owner_agencies: frozenset[str] | None = None  # with the agencies they succeeded
    themes: frozenset[str] | None = None

    @classmethod
    def build(
        cls,
        subscription_id: str,
        agency: str,
        graph: AgencyGraph,
        *,
        record_types: Iterable[str] | None,
        owner_agencies: Iterable[str] | None,
        themes: Iterable[str] | None,
    ) -> EventFilter:
        owners = None
        if owner_agencies is not None:
            # A filter on a province also covers the former provinces merged into it.
            owners = frozenset().union(*(graph.rolled_up(code) for code in owner_agencies))
        return cls(
            subscription_id, agency,
            None if record_types is None else frozenset(record_types),
            owners,
            None if themes is None else frozenset(themes),
        )

    @property
    def principal(self) -> Principal:
        return Principal(f"subscription:{self.subscription_id}", self.agency,
                         frozenset({"changes:read"}), kind="system")


@dataclass(frozen=True, slots=True)
class EventBatch:
    events: list[dict[str, Any]]
    # The subscription's position once this batch is handled: the last change scanned for
    # it (visible or not), so filtered-out changes are never scanned twice.
    scanned_to: int


async def next_events(
    session: AsyncSession,
    flt: EventFilter,
    graph: AgencyGraph,
    *,
    after: int,
    limit: int,
    scan_limit: int = 5000,
) -> EventBatch:
    """Up to ``limit`` events after position ``after``, scanning at most about ``scan_limit``
    changes (a narrow filter over a busy log advances in several calls)."""
    # Every change up to the change feed's last seq has committed (seq is allocated and
    # recorded under the change-feed lock): once the scan reaches the end, the position may
    # move up to it, past changes that are gone (never in practice) or were rolled back.
    head = await session.scalar(
        sa.select(HubLock.last_seq).where(HubLock.name == CHANGE_FEED_LOCK)
    ) or 0
    events: list[dict[str, Any]] = []
    position = after
    scanned = 0
    while len(events) < limit and scanned < scan_limit:
        page_size = min(1000, max(limit, 100))
        page = await list_changes(session, flt.principal, graph, after=position,
                                  limit=page_size)
        scanned += page_size
        upto = page.next_cursor if page.has_more else max(page.next_cursor, min(head, MAX_SEQ))
        found = await _select(session, flt, page.changes)
        notices = await notice_events(session, flt.agency, graph, after=position, upto=upto)
        if notices:
            found = sorted(found + _notices(flt, notices), key=lambda e: e["seq"])
        for event in found:
            events.append(event)
            if len(events) == limit:
                return EventBatch(events, event["seq"])
        position = upto
        if not page.has_more:
            break
    return EventBatch(events, position)


async def events_at(
    session: AsyncSession, flt: EventFilter, graph: AgencyGraph, seqs: Sequence[int]
) -> list[dict[str, Any]]:
    """The events of the changes ``seqs`` (dead letters being redelivered), built exactly as
    they were first delivered."""
    events: list[dict[str, Any]] = []
    for seq in sorted(seqs):
        page = await list_changes(session, flt.principal, graph, after=seq - 1, limit=1)
        events.extend(e for e in await _select(session, flt, page.changes) if e["seq"] == seq)
    notices = await notice_events(session, flt.agency, graph, after=0, upto=0, seqs=list(seqs))
    events.extend(_notices(flt, notices))
    return sorted(events, key=lambda e: e["seq"])


def _notices(flt: EventFilter, notices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``archive.overdue`` events within the subscription's filters (the product's
    current type, owner and themes), with their event ids."""
    kept = []
    for notice in notices:
        record = notice["record"]
        if flt.record_types is not None and record["type"] not in flt.record_types:
            continue
        if flt.owner_agencies is not None and record["owner_agency"] not in flt.owner_agencies:
            continue
        if flt.themes is not None and not _themes_match(flt, record):
            continue
        kept.append({"event_id": event_id(notice["seq"]), **notice})
    return kept


async def _select(
    session: AsyncSession, flt: EventFilter, changes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # outside the theme filter: did the previous match?
    for change in changes:
        record = change["record"]
        if flt.record_types is not None and record["type"] not in flt.record_types:
            continue
        if flt.owner_agencies is not None and record["owner_agency"] not in flt.owner_agencies:
            continue
        if flt.themes is None or (change["op"] == "upsert" and _themes_match(flt, record)):
            kept.append(change)
        elif record["version"] > 1:
            pending.append(change)
    if pending:
        previous = await _previous_versions(
            session, [(c["record"]["id"], c["record"]["version"] - 1) for c in pending]
        )
        for change in pending:
            record = change["record"]
            data = previous.get((record["id"], record["version"] - 1))
            if data is not None and _themes_match(flt, {"data": data}):
                kept.append(withdrawal_of(change) if change["op"] == "upsert" else change)
        kept.sort(key=lambda c: c["seq"])
    return [{"event_id": event_id(c["seq"]), **c} for c in kept]


def _themes_match(flt: EventFilter, record: dict[str, Any]) -> bool:
    assert flt.themes is not None
    themes = (record.get("data") or {}).get("themes") or ()
    return not flt.themes.isdisjoint(themes)


async def _previous_versions(
    session: AsyncSession, keys: list[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, Any]]:
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for start in range(0, len(keys), 200):
        chunk = keys[start : start + 200]
        rows = await session.execute(
            sa.select(RecordChange.record_id, RecordChange.version, RecordChange.data).where(
                RecordChange.record_id.in_({k[0] for k in chunk}),
                sa.tuple_(RecordChange.record_id, RecordChange.version).in_(chunk),
            )
        )
        for record_id, version, data in rows:
            found[(record_id, version)] = data or {}
    return found
