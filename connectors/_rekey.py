"""``connectors``' part of a secret-key rotation: re-seal the pull connectors' secrets and the
subscriptions' secrets under the current key (their box also opens values sealed under the
previous key, so deliveries and syncs go on during the change)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from connectors._secretbox import _context as _subscription_context
from connectors._store import _aad, secret_box
from hub import Settings
from hub.tables import Connector, Subscription


async def reseal_connector_secrets(session: AsyncSession, settings: Settings) -> dict[str, int]:
    """Counts of values re-encrypted, per kind (0 when all already are under the current key).
    A value that opens under no key raises :class:`cryptography.exceptions.InvalidTag`: the
    caller rolls back (a wrong previous key)."""
    box = secret_box(settings)
    connectors = 0
    for row in (await session.scalars(
        sa.select(Connector).where(col(Connector.secrets).is_not(None)).order_by(col(Connector.id))
    )).all():
        sealed = box.reseal(row.secrets or "", context=_aad(row.id)) if row.secrets else None
        if sealed is not None:
            row.secrets = sealed
            connectors += 1
    subscriptions = 0
    for sub in (await session.scalars(sa.select(Subscription).order_by(Subscription.id))).all():
        if not sub.secret_encrypted:
            continue
        sealed = box.reseal(sub.secret_encrypted, context=_subscription_context(sub.id))
        if sealed is not None:
            sub.secret_encrypted = sealed
            subscriptions += 1
    await session.flush()
    return {"connector_secrets": connectors, "subscription_secrets": subscriptions}
