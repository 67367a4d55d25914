"""Re-key the audit chain after a secret-key change (``rightshub secret-key rotate``).

Every keyed entry's hash covers its ``prev_hash``, so changing the key means recomputing the
whole keyed part of the chain, in seq order, in one transaction under the write lock: first the
chain must verify as it stands (under the new or the previous keys), then every v2 hash, the
head and the v1 boundary's seal are recomputed under the new key. Unkeyed (v1) entries keep
their SHA-256 hashes. A second run finds every hash already current and changes nothing.

Signed checkpoints taken before the re-key name hashes that no longer exist: they stop matching
(``audit verify --checkpoint`` reports a break at their seq); take a new checkpoint after.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hub._audit import (
    AUDIT_LOCK,
    AUDIT_V1_BOUNDARY,
    CHAIN_HMAC,
    GENESIS_HASH,
    AuditReport,
    boundary_seal,
    hash_of,
    verify,
)
from hub._db import take_change_feed_lock
from hub.tables import AuditEntry, HubLock

_CHUNK = 1000


async def rekey_audit_chain(
    session: AsyncSession, *, key: bytes, previous: Sequence[bytes]
) -> tuple[AuditReport, int]:
    """(the report of the chain before, entries re-hashed). Nothing changes when the report is
    not ok (the caller rolls back) or when every hash is already under ``key``. The caller owns
    the transaction and commits."""
    await take_change_feed_lock(session)
    report = await verify(session, key=key, previous=previous)
    if not report.ok:
        return report, 0
    changed = 0
    prev_hash = GENESIS_HASH
    after = 0
    while True:
        chunk = (await session.scalars(
            sa.select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq)
            .limit(_CHUNK).execution_options(populate_existing=True)
        )).all()
        if not chunk:
            break
        for entry in chunk:
            entry.prev_hash = prev_hash
            if entry.chain_version == CHAIN_HMAC:
                new_hash = hash_of(entry, key)
                if not hmac.compare_digest(new_hash, entry.entry_hash):
                    entry.entry_hash = new_hash
                    changed += 1
            prev_hash = entry.entry_hash
            after = entry.seq
        await session.flush()
    await session.execute(
        sa.update(HubLock).where(HubLock.name == AUDIT_LOCK).values(head_hash=prev_hash)
    )
    last_v1 = await session.scalar(
        sa.select(HubLock.last_seq).where(HubLock.name == AUDIT_V1_BOUNDARY)
    )
    await session.execute(
        sa.update(HubLock).where(HubLock.name == AUDIT_V1_BOUNDARY)
        .values(head_hash=boundary_seal(key, int(last_v1 or 0)))
    )
    return report, changed
