"""Token-signing keys: generated with joserfc (ES256 or RS256), the private JWK stored
encrypted (AES-GCM under the hub's secret key), the newest non-retired key signs.

Rotation adds a key and retires the others; a retired key stays in the JWKS, and keeps
verifying, until every token it can have signed has expired (token lifetime plus the time
other processes may take to notice the rotation), so tokens in flight keep working.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy.ext.asyncio import AsyncSession

from auth._secrets import SecretBox
from hub import Database, Settings
from hub.tables import SigningKey

ALLOWED_ALGORITHMS = ("ES256", "RS256")
# How long a process may keep signing with a key another process just retired.
KEY_CACHE_SECONDS = 60
_UNKNOWN_KID_REFRESH_SECONDS = 5.0
_CONTEXT = b"signing-key"

Key = ECKey | RSAKey


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _generate(algorithm: str, kid: str) -> Key:
    parameters: Any = {"kid": kid, "alg": algorithm, "use": "sig"}
    if algorithm == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters, private=True)
    if algorithm == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters, private=True)
    raise ValueError(f"unsupported signing algorithm {algorithm}")


def _import(data: dict[str, Any]) -> Key:
    return ECKey.import_key(data) if data.get("kty") == "EC" else RSAKey.import_key(data)


import_public_key = _import


def retention(settings: Settings) -> timedelta:
    """How long a retired key stays published and accepted."""
    return timedelta(seconds=settings.access_token_ttl_seconds + 5 * KEY_CACHE_SECONDS)


async def add_signing_key(
    session: AsyncSession, settings: Settings, box: SecretBox, *, retire_others: bool
) -> str:
    """Insert a new signing key (and retire the current ones); returns its ``kid``."""
    now = _utcnow()
    kid = f"{now:%Y%m%d}-{secrets.token_hex(4)}"
    key = _generate(settings.signing_algorithm, kid)
    private = orjson.dumps(key.as_dict(private=True))
    if retire_others:
        await session.execute(
            sa.update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now)
        )
    session.add(SigningKey(
        kid=kid,
        algorithm=settings.signing_algorithm,
        private_jwk_encrypted=box.encrypt(private, context=_CONTEXT + kid.encode()),
        public_jwk=key.as_dict(private=False),
        created_at=now,
    ))
    await session.flush()
    return kid


async def rotate_signing_keys(db: Database, settings: Settings, box: SecretBox) -> str:
    async with db.transaction() as session:
        return await add_signing_key(session, settings, box, retire_others=True)


@dataclass(frozen=True)
class _PublicKey:
    key: Key
    algorithm: str


class KeyRing:
    """The keys of one process: the signing key and every key still accepted, reloaded from
    the database every minute and whenever a token names an unknown ``kid``."""

    def __init__(self, db: Database, settings: Settings, box: SecretBox) -> None:
        self._db = db
        self._settings = settings
        self._box = box
        self._signing: tuple[str, str, Key] | None = None
        self._public: dict[str, _PublicKey] = {}
        self._jwks: list[dict[str, Any]] = []
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _load(self) -> None:
        cutoff = _utcnow() - retention(self._settings)
        async with self._db.session() as session:
            rows = (await session.scalars(
                sa.select(SigningKey)
                .where(sa.or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > cutoff))
                .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())
            )).all()
        if not any(row.retired_at is None for row in rows):
            async with self._db.transaction() as session:
                await add_signing_key(session, self._settings, self._box, retire_others=False)
            return await self._load()
        active = next(row for row in rows if row.retired_at is None)
        private = self._box.decrypt(
            active.private_jwk_encrypted, context=_CONTEXT + active.kid.encode()
        )
        self._signing = (active.kid, active.algorithm, _import(orjson.loads(private)))
        self._public = {
            row.kid: _PublicKey(_import(row.public_jwk), row.algorithm) for row in rows
        }
        self._jwks = [dict(row.public_jwk) for row in rows]
        self._loaded_at = time.monotonic()

    async def refresh(self, *, max_age: float = KEY_CACHE_SECONDS) -> None:
        if time.monotonic() - self._loaded_at < max_age:
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at >= max_age:
                await self._load()

    def signing_key(self) -> tuple[str, str, Key]:
        """``(kid, algorithm, key)``; :meth:`refresh` must have run."""
        if self._signing is None:
            raise RuntimeError("signing keys not loaded")
        return self._signing

    async def public_key(self, kid: str) -> _PublicKey | None:
        await self.refresh()
        found = self._public.get(kid)
        if found is None:
            await self.refresh(max_age=_UNKNOWN_KID_REFRESH_SECONDS)
            found = self._public.get(kid)
        return found

    async def jwks(self) -> dict[str, Any]:
        await self.refresh()
        return {"keys": list(self._jwks)}

    def forget(self) -> None:
        """Reload on next use (after a rotation in this process)."""
        self._loaded_at = float("-inf")


async def stored_public_key(db: Database, kid: str) -> tuple[Key, str] | None:
    """The public key and algorithm of ``kid``, retired or not (a signed audit checkpoint
    outlives the JWKS's retention of the key that signed it)."""
    async with db.session() as session:
        row = await session.get(SigningKey, kid)
    if row is None:
        return None
    return _import(dict(row.public_jwk)), row.algorithm
