"""The append-only, hash-chained audit log.

Every entry carries ``prev_hash`` (the previous entry's ``entry_hash``; 64 zeros for the first)
and ``entry_hash = HMAC-SHA256(audit key, prev_hash + canonical JSON of the entry)``
(``chain_version`` 2). The audit key is derived from the hub's secret key with HKDF
(info ``b"rightshub audit chain v2"``), so whoever can write the table but does not hold the
secret key cannot recompute a hash after changing an entry. Entries written before the key
(``chain_version`` 1, plain ``sha256(prev_hash + canonical JSON)``) still verify, but only up to
the boundary that migration 0011 recorded in the ``hub_locks`` row ``"audit_v1"`` and sealed
with the audit key: an entry relabelled as v1 after it, or a moved boundary, is a break.

The chain's head (seq and hash of the last entry) is kept in the ``hub_locks`` row ``"audit"``
and moves in the same transaction as the entry, so :func:`verify` detects a changed entry (its
hash no longer recomputes), a removed one (a gap in ``seq`` or a broken ``prev_hash`` link) and
a truncated tail (the head names an entry that is gone). The head sits in the same database,
so someone holding the database *and* the key could still rewrite the tail and the head
together: a checkpoint (``rightshub audit checkpoint``, a JWS of the head signed by the hub's
signing key, kept elsewhere) anchors the chain, and :func:`verify` given its ``anchor`` fails
when the entry it names is gone or no longer ends in its hash.

Entries are written inside the caller's transaction, after the caller took the write lock
(:func:`hub._db.take_change_feed_lock`): audited writes serialise on it, so ``seq`` order is
commit order and the audit entry commits or rolls back with the write it describes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from hub._db import DATABASE_INFO, Database, take_change_feed_lock
from hub.tables import AuditEntry, HubLock, utcnow

AUDIT_LOCK = "audit"
# The hub_locks row that bounds the unkeyed entries: last_seq is the last seq that may be
# chain_version 1, head_hash its seal (:func:`boundary_seal`).
AUDIT_V1_BOUNDARY = "audit_v1"
GENESIS_HASH = "0" * 64
CHAIN_SHA256 = 1  # entries written before migration 0011: sha256, no key
CHAIN_HMAC = 2  # HMAC-SHA256 under the audit key
_BOUNDARY_CONTEXT = b"rightshub audit v1 boundary\x00"
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


def boundary_seal(key: bytes, last_v1_seq: int) -> str:
    """The seal of the v1 boundary: without the key nobody can move it."""
    return hmac.new(key, _BOUNDARY_CONTEXT + str(last_v1_seq).encode(), hashlib.sha256).hexdigest()


def entry_hash(
    prev_hash: str, canonical: bytes, *, key: bytes | None = None, version: int = CHAIN_HMAC
) -> str:
    """The entry's hash: HMAC-SHA256 under ``key`` (version 2) or plain SHA-256 (version 1,
    entries written before the chain was keyed)."""
    data = prev_hash.encode("ascii") + canonical
    if version == CHAIN_SHA256:
        return hashlib.sha256(data).hexdigest()
    if version != CHAIN_HMAC or key is None:
        raise ValueError(f"chain version {version} needs {'a key' if key is None else 'support'}")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def hash_of(entry: AuditEntry, key: bytes) -> str:
    """Recompute ``entry``'s hash by its own ``chain_version``."""
    return entry_hash(
        entry.prev_hash,
        canonical_entry(
            seq=entry.seq, at=entry.at, actor=entry.actor, actor_kind=entry.actor_kind,
            agency=entry.agency, action=entry.action, target=entry.target,
            request_id=entry.request_id, outcome=entry.outcome, details=entry.details,
        ),
        key=key, version=entry.chain_version,
    )


def session_audit_key(session: AsyncSession) -> bytes:
    """The audit key of the hub whose :class:`Database` made ``session``."""
    db = session.info.get(DATABASE_INFO)
    if not isinstance(db, Database):
        raise RuntimeError("audit entries need a session of hub.Database (its key)")
    return db.audit_key


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
        chain_version=CHAIN_HMAC,
    )
    entry.entry_hash = hash_of(entry, session_audit_key(session))
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
class AuditAnchor:
    """A point of the chain known from outside the database (a checkpoint): entry ``seq``
    ended in ``entry_hash`` and the chain then held ``count`` entries."""

    seq: int
    entry_hash: str
    count: int


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What :func:`verify` found. ``ok`` is False when ``broken_seq`` and ``reason`` (English)
    / ``reason_vi`` (Vietnamese) say where and why the chain first breaks."""

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None
    reason_vi: str | None = None
    anchor: AuditAnchor | None = None

    def summary(self) -> str:
        if self.ok:
            anchored = (
                f"; checkpoint at seq {self.anchor.seq} matches"
                if self.anchor is not None else ""
            )
            anchored_vi = (
                f"; khớp điểm neo tại seq {self.anchor.seq}" if self.anchor is not None else ""
            )
            return (
                f"nhật ký kiểm toán nguyên vẹn: {self.entries} mục, đầu chuỗi seq "
                f"{self.head_seq}{anchored_vi}\n"
                f"audit log intact: {self.entries} entries, head seq {self.head_seq}, "
                f"head hash {self.head_hash}{anchored}"
            )
        return (
            f"nhật ký kiểm toán BỊ PHÁ VỠ tại seq {self.broken_seq}: {self.reason_vi}\n"
            f"audit log BROKEN at seq {self.broken_seq}: {self.reason}"
        )


async def _boundary(
    session: AsyncSession, key: bytes, previous: Sequence[bytes] = ()
) -> tuple[int | None, str, str]:
    """(last seq that may be unkeyed, or None when the boundary is not trustworthy, and the
    reasons in English and Vietnamese when it is not)."""
    row = (
        await session.execute(
            sa.select(HubLock.last_seq, HubLock.head_hash).where(
                HubLock.name == AUDIT_V1_BOUNDARY
            )
        )
    ).one_or_none()
    if row is None:
        return (None, "the boundary of unkeyed entries (hub_locks 'audit_v1') is missing",
                "thiếu mốc ranh giới các mục chưa có khoá (hub_locks 'audit_v1')")
    last_v1 = int(row[0])
    if not row[1] or not any(
        hmac.compare_digest(str(row[1]), boundary_seal(k, last_v1)) for k in (key, *previous)
    ):
        return (None, "the boundary of unkeyed entries (hub_locks 'audit_v1') was changed, or "
                "the secret key is not the one the chain was written with",
                "mốc ranh giới các mục chưa có khoá (hub_locks 'audit_v1') đã bị sửa, hoặc khoá "
                "bí mật không phải khoá đã ghi chuỗi")
    return last_v1, "", ""


async def verify(
    session: AsyncSession, *, anchor: AuditAnchor | None = None, key: bytes | None = None,
    previous: Sequence[bytes] | None = None,
) -> AuditReport:
    """Walk the whole chain from seq 1 and report the first break.

    Every entry's hash is recomputed by its ``chain_version`` (HMAC under the audit key, or
    SHA-256 for entries up to the sealed v1 boundary). With ``anchor`` (a verified checkpoint)
    the entry it names must still be there and still end in its hash: a rewrite of that entry
    or of any before it, by someone who holds the key too, or a truncation below it, is a
    break. ``key`` defaults to the audit key of the session's database; during a secret-key
    rotation an entry hashed under one of ``previous`` (default: the database's previous audit
    keys) verifies too, until ``rightshub secret-key rotate`` re-keys the chain.
    """
    if previous is None:
        db = session.info.get(DATABASE_INFO)
        previous = db.previous_audit_keys if key is None and isinstance(db, Database) else ()
    key = key if key is not None else session_audit_key(session)
    head = (
        await session.execute(
            sa.select(HubLock.last_seq, HubLock.head_hash).where(HubLock.name == AUDIT_LOCK)
        )
    ).one_or_none()
    if head is None:
        return AuditReport(False, 0, 0, "", 0,
                           "the audit head row (hub_locks 'audit') is missing",
                           "thiếu dòng đầu chuỗi kiểm toán (hub_locks 'audit')")
    head_seq, head_hash = int(head[0]), head[1] or GENESIS_HASH
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0

    def broken(seq: int, reason: str, reason_vi: str) -> AuditReport:
        return AuditReport(False, count, head_seq, head_hash, seq, reason, reason_vi, anchor)

    last_v1, why, why_vi = await _boundary(session, key, previous)
    if last_v1 is None:
        return broken(0, why, why_vi)
    if anchor is not None and anchor.seq == 0 and anchor.entry_hash != GENESIS_HASH:
        return broken(0, "the checkpoint names seq 0 with a hash other than the genesis hash",
                      "điểm neo ghi seq 0 với mã băm khác mã khởi đầu")

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
                    f"thiếu mục {expected_seq} (mục tiếp theo tìm thấy là {entry.seq})",
                )
            if entry.prev_hash != prev_hash:
                return broken(
                    entry.seq,
                    "prev_hash does not match the previous entry's hash "
                    "(an entry before it was changed or replaced)",
                    "prev_hash không khớp mã băm của mục trước "
                    "(một mục trước nó đã bị sửa hoặc thay thế)",
                )
            if entry.chain_version == CHAIN_SHA256 and entry.seq > last_v1:
                return broken(
                    entry.seq,
                    f"the entry claims the unkeyed hash (chain_version 1) but the keyed chain "
                    f"began after seq {last_v1} (rewritten and relabelled)",
                    f"mục ghi là mã băm không khoá (chain_version 1) nhưng chuỗi có khoá đã "
                    f"bắt đầu sau seq {last_v1} (bị viết lại và đổi nhãn)",
                )
            if entry.chain_version not in (CHAIN_SHA256, CHAIN_HMAC):
                return broken(entry.seq, f"unknown chain_version {entry.chain_version}",
                              f"chain_version không xác định: {entry.chain_version}")
            if not any(
                hmac.compare_digest(hash_of(entry, k), entry.entry_hash)
                for k in (key, *previous)
            ):
                return broken(entry.seq, "the entry's content does not match its hash (changed)",
                              "nội dung mục không khớp mã băm của nó (đã bị sửa)")
            if (
                anchor is not None and entry.seq == anchor.seq
                and (entry.entry_hash != anchor.entry_hash or count + 1 != anchor.count)
            ):
                return broken(
                    entry.seq,
                    f"the entry's hash is not the one the checkpoint signed for seq "
                    f"{anchor.seq}: it or an entry before it was rewritten after the "
                    "checkpoint",
                    f"mã băm của mục không phải mã điểm neo đã ký cho seq {anchor.seq}: mục "
                    "này hoặc một mục trước nó đã bị viết lại sau điểm neo",
                )
            prev_hash = entry.entry_hash
            expected_seq += 1
            count += 1
        after = chunk[-1].seq
        session.expunge_all()
    last_seq = expected_seq - 1
    if anchor is not None and anchor.seq > last_seq:
        return broken(
            last_seq + 1,
            f"the log ends at seq {last_seq} but the checkpoint names seq {anchor.seq}: "
            "entries were removed after the checkpoint",
            f"nhật ký kết thúc ở seq {last_seq} nhưng điểm neo ghi seq {anchor.seq}: "
            "các mục đã bị xoá sau điểm neo",
        )
    if head_seq > last_seq:
        return broken(
            last_seq + 1,
            f"the log ends at seq {last_seq} but its head says {head_seq}: "
            "entries were removed from the end",
            f"nhật ký kết thúc ở seq {last_seq} nhưng đầu chuỗi ghi {head_seq}: "
            "các mục cuối đã bị xoá",
        )
    if head_seq < last_seq:
        return broken(head_seq + 1, f"entries after the head seq {head_seq} were added outside "
                      "the audit writer",
                      f"các mục sau seq đầu chuỗi {head_seq} được thêm ngoài bộ ghi kiểm toán")
    if head_hash != prev_hash:
        return broken(last_seq, "the head hash does not match the last entry's hash",
                      "mã băm đầu chuỗi không khớp mã băm của mục cuối")
    return AuditReport(True, count, head_seq, head_hash, anchor=anchor)


async def verify_locked(session: AsyncSession) -> AuditReport:
    """:func:`verify` inside the caller's transaction after taking the write lock, so the head
    cannot move while the chain is walked (for a checkpoint). The caller rolls back."""
    await take_change_feed_lock(session)
    return await verify(session)


async def verify_database(db: Database) -> AuditReport:
    async with db.session() as session:
        return await verify(session)
