"""The append-only, hash-chained audit log.

Every entry carries ``prev_hash`` (the previous entry's ``entry_hash``; 64 zeros for the first)
and ``entry_hash = sha256(prev_hash + canonical JSON of the entry)``. The chain's head (seq and
hash of the last entry) is kept in the ``hub_locks`` row ``"audit"`` and moves in the same
transaction as the entry, so :func:`verify` detects a changed entry (its hash no longer
recomputes), a removed one (a gap in ``seq`` or a broken ``prev_hash`` link) and a truncated
tail (the head names an entry that is gone).

Entries are written inside the caller's transaction, after the caller took the write lock
(:func:`hub._db.take_change_feed_lock`): audited writes serialise on it, so ``seq`` order is
commit order and the audit entry commits or rolls back with the write it describes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub._db import Database, take_change_feed_lock
from hub._tables import AuditEntry, HubLock, utcnow

AUDIT_LOCK = "audit"
GENESIS_HASH = "0" * 64
_VERIFY_CHUNK = 1000

# Fields covered by the hash, in the order they are documented (the JSON is key-sorted anyway).
HASHED_FIELDS = (
    "seq", "at", "actor", "actor_kind", "agency", "action", "target", "request_id", "outcome",
    "details",
)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_entry(
    *,
    seq: int,
    at: datetime,
    actor: str,
    actor_kind: str,
    agency: str | None,
    action: str,
    target: str | None,
    request_id: str | None,
    outcome: str,
    details: dict[str, Any],
) -> bytes:
    """The entry as canonical JSON: sorted keys (nested too), no spaces, UTF-8, UTC times
    with microseconds (both SQLite and PostgreSQL keep microseconds)."""
    return orjson.dumps(
        {
            "seq": seq, "at": _iso(at), "actor": actor, "actor_kind": actor_kind,
            "agency": agency, "action": action, "target": target, "request_id": request_id,
            "outcome": outcome, "details": details,
        },
        option=orjson.OPT_SORT_KEYS,
    )


def entry_hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def _hash_of(entry: AuditEntry) -> str:
    return entry_hash(
        entry.prev_hash,
        canonical_entry(
            seq=entry.seq, at=entry.at, actor=entry.actor, actor_kind=entry.actor_kind,
            agency=entry.agency, action=entry.action, target=entry.target,
            request_id=entry.request_id, outcome=entry.outcome, details=entry.details,
        ),
    )


def current_request_id() -> str | None:
    """The request id the gateway bound to the logging context, if any."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value is not None else None


async def append(
    session: AsyncSession,
    *,
    actor: str,
    actor_kind: str,
    agency: str | None,
    action: str,
    target: str | None = None,
    request_id: str | None = None,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's transaction.

    The caller must already hold the write lock (``take_change_feed_lock``) and commits: the
    entry is part of the same transaction as the write it describes. ``request_id`` defaults
    to the one bound to the logging context by the gateway. ``details`` must be JSON data
    (no secrets: the audit log is readable by admins).
    """
    result = await session.execute(
        sa.update(HubLock)
        .where(HubLock.name == AUDIT_LOCK)
        .values(last_seq=HubLock.last_seq + 1)
        .returning(HubLock.last_seq, HubLock.head_hash)
    )
    row = result.one_or_none()
    if row is None:
        raise RuntimeError("hub_locks row 'audit' missing: run `rightshub db upgrade`")
    seq, prev_hash = int(row[0]), row[1] or GENESIS_HASH
    # Round-trip the details through JSON so what is hashed is what the database returns.
    clean_details: dict[str, Any] = orjson.loads(orjson.dumps(details or {}))
    entry = AuditEntry(
        seq=seq,
        at=utcnow(),
        actor=actor,
        actor_kind=actor_kind,
        agency=agency,
        action=action,
        target=target,
        request_id=request_id if request_id is not None else current_request_id(),
        outcome=outcome,
        details=clean_details,
        prev_hash=prev_hash,
        entry_hash="",
    )
    entry.entry_hash = _hash_of(entry)
    session.add(entry)
    await session.flush()
    await session.execute(
        sa.update(HubLock).where(HubLock.name == AUDIT_LOCK).values(head_hash=entry.entry_hash)
    )
    return entry


async def append_in_own_transaction(db: Database, **fields: Any) -> AuditEntry:
    """Audit an event that has no write of its own (e.g. a denied write) in a small
    transaction: takes the write lock, appends, commits."""
    async with db.transaction() as session:
        await take_change_feed_lock(session)
        return await append(session, **fields)


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What :func:`verify` found. ``ok`` is False when ``broken_seq`` and ``reason`` say where
    and why the chain first breaks."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None

    def summary(self) -> str:
        if self.ok:
            return (
                f"audit log intact: {self.entries} entries, head seq {self.head_seq}, "
                f"head hash {self.head_hash}"
            )
        return f"audit log BROKEN at seq {self.broken_seq}: {self.reason}"


async def verify(session: AsyncSession) -> AuditReport:
    """Walk the whole chain from seq 1 and report the first break."""
    head = (
        await session.execute(
            sa.select(HubLock.last_seq, HubLock.head_hash).where(HubLock.name == AUDIT_LOCK)
        )
    ).one_or_none()
    if head is None:
        return AuditReport(False, 0, 0, "", 0, "the audit head row (hub_locks 'audit') is missing")
    head_seq, head_hash = int(head[0]), head[1] or GENESIS_HASH
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0

    def broken(seq: int, reason: str) -> AuditReport:
        return AuditReport(False, count, head_seq, head_hash, seq, reason)

    after = 0
    while True:
        chunk = (
            await session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.seq > after)
                .order_by(AuditEntry.seq)
                .limit(_VERIFY_CHUNK)
                .execution_options(populate_existing=True)
            )
        ).all()
        if not chunk:
            break
        for entry in chunk:
            if entry.seq != expected_seq:
                return broken(
                    expected_seq,
                    f"entry {expected_seq} is missing (the next entry found is {entry.seq})",
                )
            if entry.prev_hash != prev_hash:
                return broken(
                    entry.seq,
                    "prev_hash does not match the previous entry's hash "
                    "(an entry before it was changed or replaced)",
                )
            recomputed = _hash_of(entry)
            if recomputed != entry.entry_hash:
                return broken(entry.seq, "the entry's content does not match its hash (changed)")
            prev_hash = entry.entry_hash
            expected_seq += 1
            count += 1
        after = chunk[-1].seq
        session.expunge_all()
    last_seq = expected_seq - 1
    if head_seq > last_seq:
        return broken(
            last_seq + 1,
            f"the log ends at seq {last_seq} but its head says {head_seq}: "
            "entries were removed from the end",
        )
    if head_seq < last_seq:
        return broken(head_seq + 1, f"entries after the head seq {head_seq} were added outside "
                      "the audit writer")
    if head_hash != prev_hash:
        return broken(last_seq, "the head hash does not match the last entry's hash")
    return AuditReport(True, count, head_seq, head_hash)


async def verify_database(db: Database) -> AuditReport:
    async with db.session() as session:
        return await verify(session)
