"""API keys for systems that cannot do OAuth2.

Format ``rhk_<key_id>_<secret>``: the prefix makes leaked keys recognisable (secret
scanners), ``key_id`` finds the row, and only the HMAC-SHA256 of the whole key is stored.
Scopes are a subset of the client's; several keys per client may be active (rotation with
overlap); revocation is read on every request, so it takes effect on the next one.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth._authority import authority
from auth._clients import check_scopes, in_transaction
from auth._rehash import rehash
from hub import Hub, InvalidInput, NotFound, Principal, Unauthenticated
from hub.tables import ApiKey, ApiKeyPublic, Client

log = structlog.get_logger("rightshub.auth")

API_KEY_PREFIX = "rhk_"
_FORMAT = re.compile(r"^rhk_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})$")
LAST_USED_RESOLUTION_SECONDS = 60


def _utcnow() -> datetime:
    return datetime.now(UTC)


def looks_like_api_key(value: str) -> bool:
    return value.startswith(API_KEY_PREFIX)


# An API key as admins see it (the table's SQLModel entity, never the key or its hash).
ApiKeyInfo = ApiKeyPublic


def _public(row: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.of(row, API_KEY_PREFIX)


@dataclass(frozen=True)
class CreatedApiKey:
    info: ApiKeyInfo
    api_key: str  # shown once, never stored


async def create_api_key(
    hub: Hub,
    *,
    client_id: str,
    name: str,
    scopes: Iterable[str] | None = None,
    expires_at: datetime | None = None,
    created_by: str | None = None,
    session: AsyncSession | None = None,
) -> CreatedApiKey:
    auth = authority(hub)
    async with in_transaction(hub, session) as tx:
        client = await tx.get(Client, client_id)
        if client is None:
            raise NotFound(f"Không có client {client_id}.", f"Unknown client {client_id}.")
        wanted = check_scopes(client.scopes if scopes is None else scopes, client.scopes)
        if expires_at is not None and expires_at <= _utcnow():
            raise InvalidInput("Thời hạn đã qua.", "expires_at is in the past.")
        key_id = secrets.token_hex(8)
        plaintext = f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        row = ApiKey(
            key_id=key_id, client_id=client_id, name=name, key_hash=auth.box.hash(plaintext),
            hash_key_id=auth.box.key_id, scopes=wanted, expires_at=expires_at,
            created_at=_utcnow(), created_by=created_by,
        )
        tx.add(row)
        await tx.flush()
        return CreatedApiKey(_public(row), plaintext)


def _key_id(key_id_or_prefix: str) -> str:
    return key_id_or_prefix.removeprefix(API_KEY_PREFIX)


async def list_api_keys(
    hub: Hub, *, client_id: str | None = None, prefix: str | None = None,
    agency: str | None = None,
) -> list[ApiKeyInfo]:
    query = sa.select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.key_id))
    if client_id is not None:
        query = query.where(col(ApiKey.client_id) == client_id)
    if prefix:
        query = query.where(col(ApiKey.key_id).startswith(_key_id(prefix), autoescape=True))
    if agency is not None:
        query = query.join(Client, col(Client.client_id) == col(ApiKey.client_id)).where(
            col(Client.agency) == agency
        )
    async with hub.db.session() as session:
        return [_public(row) for row in (await session.scalars(query)).all()]


async def revoke_api_key(
    hub: Hub, key_id: str, *, session: AsyncSession | None = None
) -> ApiKeyInfo:
    async with in_transaction(hub, session) as tx:
        row = await tx.get(ApiKey, _key_id(key_id))
        if row is None:
            raise NotFound("Không có API key này.", "Unknown API key.")
        if row.revoked_at is None:
            row.revoked_at = _utcnow()
        await tx.flush()
        return _public(row)


async def rotate_api_key(
    hub: Hub,
    key_id: str,
    *,
    overlap: timedelta | None = None,
    expires_at: datetime | None = None,
    created_by: str | None = None,
    session: AsyncSession | None = None,
) -> CreatedApiKey:
    """A new key with the old key's client, name and scopes. The old key keeps working for
    ``overlap`` (then expires), or until revoked when ``overlap`` is None."""
    async with in_transaction(hub, session) as tx:
        old = await tx.get(ApiKey, _key_id(key_id))
        if old is None:
            raise NotFound("Không có API key này.", "Unknown API key.")
        if old.revoked_at is not None:
            raise InvalidInput("API key đã bị thu hồi.", "The API key is revoked.")
        created = await create_api_key(
            hub, client_id=old.client_id, name=old.name, scopes=old.scopes,
            expires_at=expires_at, created_by=created_by, session=tx,
        )
        if overlap is not None:
            ends = _utcnow() + overlap
            if old.expires_at is None or old.expires_at > ends:
                old.expires_at = ends
        await tx.flush()
        return created


def _invalid() -> Unauthenticated:
    return Unauthenticated(
        "API key không hợp lệ, đã hết hạn hoặc đã bị thu hồi.",
        "The API key is invalid, expired or revoked.",
    )


async def verify_api_key(hub: Hub, api_key: str) -> Principal:
    """The principal of a valid API key (scopes = key scopes ∩ client scopes)."""
    auth = authority(hub)
    match = _FORMAT.match(api_key)
    if match is None:
        log.info("api_key_rejected", reason="format")
        raise _invalid()
    key_id = match.group(1)
    async with hub.db.session() as session:
        row = (await session.execute(
            sa.select(ApiKey, Client)
            .join(Client, col(Client.client_id) == col(ApiKey.client_id))
            .where(col(ApiKey.key_id) == key_id)
        )).first()
    made_by = auth.box.match(api_key, row[0].key_hash) if row is not None else None
    if row is None or made_by is None:
        log.info("api_key_rejected", reason="unknown", key_prefix=API_KEY_PREFIX + key_id)
        raise _invalid()
    key, client = row
    if made_by != auth.box.key_id or key.hash_key_id != made_by:  # made before a rotation
        await rehash(hub, ApiKey, ApiKey.key_id == key_id, ApiKey.key_hash, key.key_hash,
                     auth.box.hash(api_key))
    now = _utcnow()
    reason = (
        "revoked" if key.revoked_at is not None
        else "expired" if key.expires_at is not None and key.expires_at <= now
        else "client_inactive" if not client.active
        else None
    )
    if reason:
        log.info("api_key_rejected", reason=reason, key_prefix=API_KEY_PREFIX + key_id)
        raise _invalid()
    await _touch(hub, key_id, key.last_used_at, now)
    return Principal(
        client_id=client.client_id, agency=client.agency,
        scopes=frozenset(key.scopes) & frozenset(client.scopes), kind="api_key",
    )


async def _touch(hub: Hub, key_id: str, last_used: datetime | None, now: datetime) -> None:
    """``last_used_at``, written at most once a minute per key (per process, and guarded in
    SQL across processes) so that a busy key does not cost a write per request."""
    auth = authority(hub)
    if last_used is not None and now - last_used < timedelta(
        seconds=LAST_USED_RESOLUTION_SECONDS
    ):
        return
    written = auth.key_use_written.get(key_id)
    if written is not None and time.monotonic() - written < LAST_USED_RESOLUTION_SECONDS:
        return
    auth.key_use_written[key_id] = time.monotonic()
    if len(auth.key_use_written) > 100_000:
        auth.key_use_written.clear()
    threshold = now - timedelta(seconds=LAST_USED_RESOLUTION_SECONDS)
    try:
        async with hub.db.transaction() as session:
            await session.execute(
                sa.update(ApiKey)
                .where(col(ApiKey.key_id) == key_id)
                .where(sa.or_(col(ApiKey.last_used_at).is_(None),
                              col(ApiKey.last_used_at) < threshold))
                .values(last_used_at=now)
            )
    except Exception as exc:  # bookkeeping must never fail the request (e.g. read-only DB)
        log.warning("api_key_last_used_not_written", error_type=type(exc).__name__)
