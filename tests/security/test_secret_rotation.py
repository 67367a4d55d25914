"""Secret-key rotation on SQLite and PostgreSQL, through the real HTTP app: during the change
(new key, old key as ``secret_key_previous``) the old client secret and API key still
authenticate and are re-hashed on use; ``secret-key rotate`` re-seals the connector and
subscription secrets and the signing keys and re-keys the audit chain (idempotent, with a dry
run); after the previous key is dropped everything rotated still works, and the one hash never
used meanwhile was reported beforehand; a wrong previous key is refused with nothing changed."""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from typer.testing import CliRunner, Result

import auth
import connectors
from connectors._secretbox import open_secret
from connectors._store import unseal
from gateway import create_app
from gateway.cli import app as cli_app
from gateway.cli._secret_key import RotationRefused, rotate
from gateway.routers.files import link_keys
from hub import Hub, Settings, append_audit, load_secret_key, verify_audit
from hub._db import take_change_feed_lock
from hub.archive._service import sign_link
from hub.tables import ApiKey, AuditEntry, Client, Connector, HubLock, SigningKey, Subscription
from tests.conftest import make_settings, new_database
from tests.console._helpers import csrf, new_admin, sign_in
from tests.delivery.conftest import HUB_ADMIN
from tests.security._oauth_helpers import basic, bearer, new_client

pytestmark = pytest.mark.anyio

CONNECTOR_SECRET = "bí-mật-kết-nối-0123456789"
SIGNING_SECRET = "bí-mật-ký-thuê-bao-0123456789abcdef"


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[Hub, httpx.AsyncClient]]:
    """A hub and its real ASGI app (no lifespan: the worker stays off)."""
    hub = Hub(settings)
    app = create_app(settings, hub=hub)
    app.state.hub = hub
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
            yield hub, c
    finally:
        await hub.close()


async def token_status(c: httpx.AsyncClient, client_id: str, secret: str) -> int:
    response = await c.post(auth.TOKEN_PATH, data={"grant_type": "client_credentials"},
                            headers=basic(client_id, secret))
    if response.status_code == 200:  # the token is signed and accepted too
        token = response.json()["access_token"]
        return (await c.get("/v1/products", headers=bearer(token))).status_code
    return response.status_code


async def key_status(c: httpx.AsyncClient, key: str) -> int:
    return (await c.get("/v1/products", headers=bearer(key))).status_code


async def snapshot(hub: Hub) -> dict[str, Any]:
    """Every stored value a rotation may change."""
    async with hub.db.session() as s:
        return {
            "audit": (await s.execute(sa.select(AuditEntry.seq, AuditEntry.prev_hash,
                                                AuditEntry.entry_hash)
                                      .order_by(AuditEntry.seq))).all(),
            "locks": (await s.execute(sa.select(HubLock.name, HubLock.head_hash)
                                      .order_by(HubLock.name))).all(),
            "signing": (await s.execute(sa.select(SigningKey.kid,
                                                  SigningKey.private_jwk_encrypted))).all(),
            "connectors": (await s.execute(sa.select(Connector.id, Connector.secrets))).all(),
            "subs": (await s.execute(sa.select(Subscription.id,
                                               Subscription.secret_encrypted))).all(),
            "key_hashes": (await s.execute(sa.select(ApiKey.key_id, ApiKey.key_hash,
                                                     ApiKey.hash_key_id))).all(),
            "client_hashes": (await s.execute(sa.select(Client.client_id, Client.secret_hash,
                                                        Client.hash_key_id))).all(),
        }


async def audit_ok(hub: Hub) -> bool:
    async with hub.db.session() as s:
        report = await verify_audit(s)
    assert report.ok, report.summary()
    return report.entries > 0


async def stored_secrets_open(hub: Hub, connector_id: str, subscription_id: str) -> None:
    async with hub.db.session() as s:
        row = await s.get(Connector, connector_id)
        sub = await s.get(Subscription, subscription_id)
    assert row is not None and sub is not None
    opened = unseal(hub.settings, row.id, row.secrets)
    assert opened.client_secret is not None
    assert opened.client_secret.get_secret_value() == CONNECTOR_SECRET
    assert open_secret(hub, sub.id, sub.secret_encrypted) == SIGNING_SECRET


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database of its own: the rotation changes its key, which other tests share."""
    with new_database(request.param, tmp_path_factory) as url:
        yield url


def run_cli(*args: str, **env: str) -> Result:
    return CliRunner().invoke(cli_app, list(args), env=env)


async def test_rotation_without_downtime(own_database: str) -> None:
    url = own_database
    # The key the database was migrated with (the generated one outside production).
    old = load_secret_key(Settings(database_url=url, environment="test")).decode()
    new = secrets.token_urlsafe(48)

    async with running(make_settings(url, secret_key=old)) as (hub, c):
        made = await new_client(hub)
        cid, client_secret = made.client.client_id, made.client_secret
        assert client_secret
        used_key = (await auth.create_api_key(hub, client_id=cid, name="used")).api_key
        idle_key = (await auth.create_api_key(hub, client_id=cid, name="idle")).api_key
        assert await token_status(c, cid, client_secret) == 200  # makes a signing key
        assert await key_status(c, used_key) == 200
        async with hub.db.transaction() as s:
            info = await connectors.create_connector(
                hub, s, agency="G16", name="nguồn thử", kind="rest",
                config=connectors.demo_connector_config("http://127.0.0.1:9"),
                secrets=connectors.Secrets(client_secret=CONNECTOR_SECRET),  # type: ignore[arg-type]
            )
            await take_change_feed_lock(s)
            await append_audit(s, actor="test", actor_kind="system", agency="G16",
                               action="test.before_rotation", details={"ghi chú": "trước"})
        sub = await connectors.create_subscription(
            hub, HUB_ADMIN, agency="G15", name="thuê bao",
            endpoint_url="http://127.0.0.1:9/hook", secret=SIGNING_SECRET,
        )
        connector_id, subscription_id = info.id, sub.subscription.id
        assert await audit_ok(hub)
        before = await snapshot(hub)

    # A wrong previous key: refused, nothing changed (the API and the command line).
    wrong = make_settings(url, secret_key=new, secret_key_previous=secrets.token_urlsafe(48))
    with pytest.raises(RotationRefused) as refused:
        await rotate(wrong)
    assert "RIGHTSHUB_SECRET_KEY_PREVIOUS" in refused.value.detail_en
    assert "khoá" in refused.value.detail_vi
    result = await anyio.to_thread.run_sync(functools.partial(
        run_cli, "secret-key", "rotate", RIGHTSHUB_DATABASE_URL=url,
        RIGHTSHUB_ENVIRONMENT="test", RIGHTSHUB_SECRET_KEY=new,
        RIGHTSHUB_SECRET_KEY_PREVIOUS="sai" * 20,
    ))
    assert result.exit_code == 3, result.output
    assert "Từ chối / refused" in result.output and "nothing changed" in result.output
    during = make_settings(url, secret_key=new, secret_key_previous=old)
    dry = await rotate(during, dry_run=True)
    assert dry.rekeyed["connector_secrets"] == 1 and dry.rekeyed["subscription_secrets"] == 1
    assert dry.rekeyed["signing_keys"] >= 1 and dry.rekeyed["audit_entries"] >= 2
    async with running(during) as (hub, c):
        assert await snapshot(hub) == before
        # Before the rotation ran: old values are accepted under the new key.
        assert await audit_ok(hub)
        await stored_secrets_open(hub, connector_id, subscription_id)
        # An entry written under the new key on top of the old ones: the chain still verifies.
        async with hub.db.transaction() as s:
            await take_change_feed_lock(s)
            await append_audit(s, actor="test", actor_kind="system", agency="G16",
                               action="test.during_rotation")
        assert await audit_ok(hub)

    report = await rotate(during)
    # Its own hash changes too (its prev_hash does): one more than the dry run counted.
    assert report.rekeyed == {**dry.rekeyed, "audit_entries": dry.rekeyed["audit_entries"] + 1}
    assert report.awaiting_rehash == {"client_secrets": 1, "api_keys": 2}
    again = await rotate(during)
    assert again.changed == 0 and again.awaiting_rehash == report.awaiting_rehash

    async with running(during) as (hub, c):
        assert await audit_ok(hub)
        await stored_secrets_open(hub, connector_id, subscription_id)
        assert await token_status(c, cid, client_secret) == 200  # re-hashed on use
        assert await key_status(c, used_key) == 200  # re-hashed on use
    assert (await rotate(during)).awaiting_rehash == {"client_secrets": 0, "api_keys": 1}

    after = make_settings(url, secret_key=new)
    assert (await rotate(after)).awaiting_rehash == {"client_secrets": 0, "api_keys": 1}
    async with running(after) as (hub, c):
        assert await audit_ok(hub)
        await stored_secrets_open(hub, connector_id, subscription_id)
        assert await token_status(c, cid, client_secret) == 200
        assert await key_status(c, used_key) == 200
        assert await key_status(c, idle_key) == 401  # reported above: reissue it
    # And the old key alone no longer verifies anything.
    async with running(make_settings(url, secret_key=old)) as (hub, c):
        assert await key_status(c, used_key) == 401
        async with hub.db.session() as s:
            assert not (await verify_audit(s)).ok


async def console_status(c: httpx.AsyncClient) -> int:
    """200 on the dashboard while the session cookie is accepted; 303 to the sign-in form not."""
    return (await c.get("/console/dashboard", follow_redirects=False)).status_code


async def link_status(c: httpx.AsyncClient, file_id: str, expires: int, signature: str) -> int:
    """401 for a link whose signature no key accepts; 404 past the check (no such file)."""
    response = await c.get(f"/v1/files/{file_id}/content",
                           params={"expires": expires, "signature": signature})
    return response.status_code


async def test_console_sessions_and_file_links_survive_the_rotation(own_database: str) -> None:
    """A signed-in admin stays signed in, a form loaded before the change still posts, and a
    file link made before it still opens, while the previous key is set; with the old key
    gone they do not (so it is the previous key that accepts them)."""
    url = own_database
    old = load_secret_key(Settings(database_url=url, environment="test")).decode()
    new = secrets.token_urlsafe(48)
    file_id, expires = "f-" + secrets.token_hex(8), int(time.time()) + 600

    async with running(make_settings(url, secret_key=old)) as (hub, c):
        username = await new_admin(hub)
        assert (await sign_in(c, username)).status_code == 303
        assert await console_status(c) == 200
        form_token = await csrf(c)
        cookies = dict(c.cookies)
        signature = sign_link(link_keys(hub)[0], file_id, expires)
        assert await link_status(c, file_id, expires, signature) == 404

    during = make_settings(url, secret_key=new, secret_key_previous=old)
    async with running(during) as (hub, c):
        c.cookies.update(cookies)
        assert await console_status(c) == 200
        assert await link_status(c, file_id, expires, signature) == 404
        assert await link_status(c, file_id, expires, "0" * 64) == 401
        refused = await c.post("/console/logout", data={"csrf_token": "x" * 64},
                               follow_redirects=False)
        assert refused.status_code == 403
        # New links are signed under the new key only.
        fresh = sign_link(link_keys(hub)[0], file_id, expires)
        assert fresh != signature

    after = make_settings(url, secret_key=new)
    async with running(after) as (hub, c):
        assert await link_status(c, file_id, expires, fresh) == 404
        assert await link_status(c, file_id, expires, signature) == 401
        c.cookies.update(cookies)
        assert await console_status(c) == 303

    # And the form loaded before the change posts during it (sign-out: the session ends).
    async with running(during) as (hub, c):
        c.cookies.update(cookies)
        out = await c.post("/console/logout", data={"csrf_token": form_token},
                           follow_redirects=False)
        assert out.status_code == 303, out.text
        assert await console_status(c) == 303


async def test_a_separate_connector_key_rotates_too(own_database: str) -> None:
    """With ``connector_secret_key`` set, its own previous key opens the old seals during the
    change, ``rotate`` re-seals them under the new key, and without the old key they open."""
    url = own_database
    hub_key = load_secret_key(Settings(database_url=url, environment="test")).decode()
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    async with running(make_settings(url, secret_key=hub_key, connector_secret_key=old)) as (
            hub, _c):
        async with hub.db.transaction() as s:
            info = await connectors.create_connector(
                hub, s, agency="G16", name="nguồn khoá riêng", kind="rest",
                config=connectors.demo_connector_config("http://127.0.0.1:9"),
                secrets=connectors.Secrets(client_secret=CONNECTOR_SECRET),  # type: ignore[arg-type]
            )
        sub = await connectors.create_subscription(
            hub, HUB_ADMIN, agency="G15", name="thuê bao khoá riêng",
            endpoint_url="http://127.0.0.1:9/hook", secret=SIGNING_SECRET,
        )
    during = make_settings(url, secret_key=hub_key, connector_secret_key=new,
                           connector_secret_key_previous=old)
    async with running(during) as (hub, _c):
        await stored_secrets_open(hub, info.id, sub.subscription.id)
    report = await rotate(during)
    assert report.rekeyed["connector_secrets"] == 1
    assert report.rekeyed["subscription_secrets"] == 1
    assert (await rotate(during)).changed == 0
    async with running(make_settings(url, secret_key=hub_key, connector_secret_key=new)) as (
            hub, _c):
        await stored_secrets_open(hub, info.id, sub.subscription.id)
    # The old key alone opens nothing any more.
    async with running(make_settings(url, secret_key=hub_key, connector_secret_key=old)) as (
            hub, _c):
        with pytest.raises(InvalidTag):
            await stored_secrets_open(hub, info.id, sub.subscription.id)
