"""API keys on SQLite and PostgreSQL: ``rhk_`` prefix, accepted as bearer token or
``X-API-Key``; scopes within the client's; revoked and expired keys get 401 on the next
request; rotation overlaps; ``last_used_at`` written at most once a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

import auth
from hub import Hub, InvalidInput
from hub.tables import ApiKey
from tests.security._oauth_helpers import bearer, new_client

pytestmark = pytest.mark.anyio


async def _status(client: httpx.AsyncClient, key: str, header: str = "bearer") -> int:
    headers = bearer(key) if header == "bearer" else {"X-API-Key": key}
    return (await client.get("/v1/products", headers=headers)).status_code


async def test_api_key_format_storage_and_use(hub: Hub, client: httpx.AsyncClient) -> None:
    created = await new_client(hub)
    made = await auth.create_api_key(hub, client_id=created.client.client_id, name="sync")
    key = made.api_key
    assert key.startswith("rhk_" + made.info.key_id + "_")
    assert made.info.prefix == "rhk_" + made.info.key_id
    async with hub.db.session() as session:
        row = await session.get(ApiKey, made.info.key_id)
    assert row is not None and row.key_hash != key and key not in row.key_hash
    assert len(row.key_hash) == 64

    assert await _status(client, key) == 200
    assert await _status(client, key, "x-api-key") == 200
    assert await _status(client, key[:-2] + "xx") == 401
    assert await _status(client, "rhk_0123456789abcdef_" + "a" * 43) == 401
    both = await client.get("/v1/products", headers={**bearer(key), "X-API-Key": key})
    assert both.status_code == 401
    listed = await auth.list_api_keys(hub, prefix=made.info.prefix)
    assert [k.key_id for k in listed] == [made.info.key_id]


async def test_api_key_scopes_are_within_the_clients(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    created = await new_client(hub, scopes=["records:read", "records:write"])
    cid = created.client.client_id
    with pytest.raises(InvalidInput):
        await auth.create_api_key(hub, client_id=cid, name="x", scopes=["changes:read"])
    reader = await auth.create_api_key(hub, client_id=cid, name="r", scopes=["records:read"])
    assert await _status(client, reader.api_key) == 200
    write = await client.put("/v1/products/K-1", headers=bearer(reader.api_key),
                             json={"kind": "book", "title": "Sách", "languages": ["vie"]})
    assert write.status_code == 403
    changes = await client.get("/v1/changes", headers=bearer(reader.api_key))
    assert changes.status_code == 403


async def test_revoked_and_expired_keys_get_401_at_once(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    created = await new_client(hub)
    cid = created.client.client_id
    revoked = await auth.create_api_key(hub, client_id=cid, name="r")
    assert await _status(client, revoked.api_key) == 200
    await auth.revoke_api_key(hub, revoked.info.prefix)
    assert await _status(client, revoked.api_key) == 401

    expiring = await auth.create_api_key(
        hub, client_id=cid, name="e", expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert await _status(client, expiring.api_key) == 200
    async with hub.db.transaction() as session:
        await session.execute(sa.update(ApiKey).where(ApiKey.key_id == expiring.info.key_id)
                              .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert await _status(client, expiring.api_key) == 401

    other = await auth.create_api_key(hub, client_id=cid, name="c")
    await auth.set_client_active(hub, cid, False)
    assert await _status(client, other.api_key) == 401


async def test_rotation_overlap(hub: Hub, client: httpx.AsyncClient) -> None:
    created = await new_client(hub)
    old = await auth.create_api_key(hub, client_id=created.client.client_id, name="sync")
    new = await auth.rotate_api_key(hub, old.info.key_id, overlap=timedelta(hours=1))
    assert new.api_key != old.api_key and new.info.scopes == old.info.scopes
    # Both work during the overlap: several active keys per client.
    assert await _status(client, old.api_key) == 200
    assert await _status(client, new.api_key) == 200
    async with hub.db.session() as session:
        row = await session.get(ApiKey, old.info.key_id)
    assert row is not None and row.expires_at is not None
    assert row.expires_at <= datetime.now(UTC) + timedelta(hours=1)
    # The overlap ends: the old key stops, the new one goes on.
    async with hub.db.transaction() as session:
        await session.execute(sa.update(ApiKey).where(ApiKey.key_id == old.info.key_id)
                              .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert await _status(client, old.api_key) == 401
    assert await _status(client, new.api_key) == 200


async def test_last_used_at_is_written_at_most_once_a_minute(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    created = await new_client(hub)
    made = await auth.create_api_key(hub, client_id=created.client.client_id, name="u")

    async def last_used() -> datetime | None:
        async with hub.db.session() as session:
            return await session.scalar(
                sa.select(ApiKey.last_used_at).where(ApiKey.key_id == made.info.key_id))

    assert await last_used() is None
    assert await _status(client, made.api_key) == 200
    first = await last_used()
    assert first is not None
    for _ in range(3):
        assert await _status(client, made.api_key) == 200
    assert await last_used() == first
