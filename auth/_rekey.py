"""``auth``'s part of a secret-key rotation: re-seal the token-signing keys under the current
key, and count the client-secret and API-key hashes still awaiting their lazy re-hash."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from auth._keys import _CONTEXT as _SIGNING_CONTEXT
from auth._rehash import count_stale_hashes
from auth._secrets import SecretBox
from hub.tables import SigningKey


async def reseal_signing_keys(session: AsyncSession, box: SecretBox) -> int:
    """Signing keys re-encrypted under the current key (0 when all already are). A key that
    opens under no key raises :class:`cryptography.exceptions.InvalidTag`: the caller rolls
    back (a wrong previous key)."""
    changed = 0
    for row in (await session.scalars(sa.select(SigningKey).order_by(SigningKey.kid))).all():
        sealed = box.reseal(row.private_jwk_encrypted, context=_SIGNING_CONTEXT + row.kid.encode())
        if sealed is not None:
            row.private_jwk_encrypted = sealed
            changed += 1
    await session.flush()
    return changed


async def stale_hashes(session: AsyncSession, box: SecretBox) -> dict[str, int]:
    """Hashes not made by the current key: they still verify under a previous key (and are
    upgraded on their next use), but stop working once that key is removed."""
    return await count_stale_hashes(session, box.key_id)
