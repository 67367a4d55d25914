"""Lazy re-hashing of client secrets and API keys after a secret-key change.

Their HMACs cannot be recomputed without the secrets, which the hub never keeps: when one
verifies under a previous key (or under the current key without a recorded key id), the hash
is replaced then, at the moment the secret is in hand. ``rightshub secret-key rotate`` counts
the hashes not yet upgraded, so the operator knows when the previous key can be removed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth._authority import authority
from hub import Hub
from hub.tables import ApiKey, Client

log = structlog.get_logger("rightshub.auth")


async def rehash(
    hub: Hub, table: Any, where: Any, column: Any, old_hash: str, new_hash: str
) -> None:
    """Replace ``old_hash`` by ``new_hash`` (made by the current key) on the row ``where``.
    Guarded on the old hash, so a secret reset meanwhile is not overwritten; a failure is
    logged, never the request's (the old key still verifies it next time)."""
    try:
        async with hub.db.transaction() as session:
            await session.execute(
                sa.update(table).where(where, column == old_hash)
                .values({column.key: new_hash, "hash_key_id": authority(hub).box.key_id})
            )
    except Exception as exc:  # bookkeeping must never fail the request (e.g. read-only DB)
        log.warning("secret_rehash_not_written", error_type=type(exc).__name__)
    else:
        log.info("secret_rehashed", table=table.__tablename__)


async def count_stale_hashes(session: AsyncSession, key_id: str) -> dict[str, int]:
    """Client secrets and usable API keys whose hash was not made by the key ``key_id``."""
    clients = await session.scalar(
        sa.select(sa.func.count()).select_from(Client).where(
            col(Client.secret_hash).is_not(None),
            sa.or_(col(Client.hash_key_id).is_(None), col(Client.hash_key_id) != key_id),
        )
    )
    keys = await session.scalar(
        sa.select(sa.func.count()).select_from(ApiKey).where(
            col(ApiKey.revoked_at).is_(None),
            sa.or_(col(ApiKey.hash_key_id).is_(None), col(ApiKey.hash_key_id) != key_id),
        )
    )
    return {"client_secrets": int(clients or 0), "api_keys": int(keys or 0)}
