"""Issue 16, finding 6: a stranger's guesses cannot lock the real admin out.

Failures slow down the (username, address) pair that makes them, with growing delays
answered as 429 + Retry-After; an address is limited across usernames; the account itself is
locked only well above that, and the lock is audited (auth/_login_throttle.py). The client
address is the socket peer (``gateway.deps.client_address``), set here through ASGI's
``client``. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from auth._admins import create_admin
from gateway import create_app
from hub import Hub
from hub.tables import AuditEntry
from tests.api._helpers import assert_problem
from tests.conftest import make_settings
from tests.console._helpers import PASSWORD, csrf_of, unique

pytestmark = pytest.mark.anyio

ADDRESS_A = "198.51.100.7"
ADDRESS_B = "203.0.113.20"
WRONG = "not the password at all"
REDIS_URL = "redis://127.0.0.1:6379/0"


@asynccontextmanager
async def from_address(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False,
                                    client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


async def _api_login(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await c.post("/v1/admin/session", json={"username": username, "password": password})


async def _console_login(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    form = await c.get("/console/login")
    return await c.post("/console/login", data={
        "csrf_token": csrf_of(form), "username": username, "password": password,
        "next": "/console/dashboard"})


def _app(client: httpx.AsyncClient) -> FastAPI:
    return client._transport.app  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
async def hub_with() -> AsyncIterator[Callable[..., Any]]:
    """A hub and its app with other throttle settings than the suite's."""
    made: list[Hub] = []

    async def make(database_url: str, **overrides: Any) -> tuple[Hub, FastAPI]:
        settings = make_settings(database_url, **overrides)
        hub = Hub(settings)
        made.append(hub)
        app = create_app(settings, hub=hub)
        app.state.hub = hub
        return hub, app

    yield make
    for hub in made:
        await hub.close()


@pytest.mark.parametrize("channel", ["api", "console"])
async def test_guesses_from_one_address_do_not_stop_the_admin_at_another(
    channel: str, hub: Hub, client: httpx.AsyncClient
) -> None:
    username = unique("qt")
    await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
    attempt = _api_login if channel == "api" else _console_login
    app = _app(client)
    async with from_address(app, ADDRESS_A) as stranger, \
            from_address(app, ADDRESS_B) as admin:
        statuses = [(await attempt(stranger, username, WRONG)).status_code for _ in range(8)]
        assert statuses[:4] == [401] * 4 and 429 in statuses, statuses
        # The right password from the stranger's address waits too: no guessing during it.
        assert (await attempt(stranger, username, PASSWORD)).status_code == 429
        ok = await attempt(admin, username, PASSWORD)
        assert ok.status_code == (200 if channel == "api" else 303), ok.text


async def test_delays_grow_for_the_same_username_and_address(
    database_url: str, hub_with: Callable[..., Any]
) -> None:
    # A first delay of 3 s: longer than any pause of a loaded machine between two requests.
    hub, app = await hub_with(database_url, admin_login_first_delay_seconds=3)
    username = unique("qt")
    await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
    free = hub.settings.admin_login_free_failures
    async with from_address(app, ADDRESS_A) as c:
        for _ in range(free + 1):  # the free ones, then the first that costs a delay
            assert_problem(await _api_login(c, username, WRONG), 401)
        started = time.monotonic()
        waiting = assert_problem(await _api_login(c, username, PASSWORD), 429)
        assert time.monotonic() - started < 0.5  # answered at once, the server does not sleep
        first = int((await _api_login(c, username, WRONG)).headers["retry-after"])
        assert first in (2, 3), waiting
        await asyncio.sleep(first + 0.05)
        assert_problem(await _api_login(c, username, WRONG), 401)
        second = assert_problem(await _api_login(c, username, WRONG), 429)
        assert int(second["retry_after"]) in (5, 6)  # twice the first step
        assert str(second["retry_after"]) in second["detail_en"]
        assert str(second["retry_after"]) in second["detail_vi"]


async def test_an_address_is_limited_across_usernames(
    database_url: str, hub_with: Callable[..., Any]
) -> None:
    hub, app = await hub_with(database_url, admin_login_ip_limit="5/hour")
    username = unique("qt")
    await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
    async with from_address(app, ADDRESS_A) as stranger, \
            from_address(app, ADDRESS_B) as admin:
        for n in range(5):  # one guess per username: no pair gets a delay
            assert_problem(await _api_login(stranger, f"guess-{n}-{username}", WRONG), 401)
        limited = assert_problem(await _api_login(stranger, username, PASSWORD), 429)
        assert "Địa chỉ" in limited["detail_vi"] and "address" in limited["detail_en"]
        assert (await _api_login(admin, username, PASSWORD)).status_code == 200


async def test_the_account_locks_only_well_above_and_the_lock_is_audited(
    database_url: str, hub_with: Callable[..., Any]
) -> None:
    hub, app = await hub_with(database_url, admin_account_lock_limit="6/hour")
    username = unique("qt")
    await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
    manager = unique("qt")
    await create_admin(hub, username=manager, role="hub_admin", password=PASSWORD)
    for n in range(3):  # two guesses from each of three addresses: none of them waits
        async with from_address(app, f"192.0.2.{10 + n}") as guesser:
            for _ in range(2):
                assert_problem(await _api_login(guesser, username, WRONG), 401)
    async with from_address(app, ADDRESS_B) as admin:
        locked = assert_problem(await _api_login(admin, username, PASSWORD), 429)
        assert "khoá" in locked["detail_vi"] and "locked" in locked["detail_en"]
        assert (await _api_login(admin, manager, PASSWORD)).status_code == 200
        async with hub.db.session() as session:
            entries = (await session.scalars(sa.select(AuditEntry).where(
                AuditEntry.action == "admin.login.account_locked",
                AuditEntry.target == f"admin_user/{username}"))).all()
        assert [e.outcome for e in entries] == ["locked"]
        assert entries[0].details["limit"].startswith("6 per 1 hour")
        # A hub admin setting a new password lifts the lock.
        token = (await _api_login(admin, manager, PASSWORD)).json()["access_token"]
        reset = await admin.post(f"/v1/admin/users/{username}/password",
                                 json={"password": "mật khẩu mới sau khi khoá"},
                                 headers={"Authorization": f"Bearer {token}"})
        assert reset.status_code == 200, reset.text
        ok = await _api_login(admin, username, "mật khẩu mới sau khi khoá")
        assert ok.status_code == 200, ok.text


async def test_forwarded_addresses_count_only_behind_a_trusted_proxy(
    database_url: str, hub_with: Callable[..., Any]
) -> None:
    """Behind a trusted reverse proxy (RIGHTSHUB_TRUSTED_PROXIES) the address it forwards is
    the one throttled; from anywhere else X-Forwarded-For is ignored, so a guesser cannot
    pick a fresh address for each attempt."""
    proxy = "10.9.8.7"
    hub, app = await hub_with(database_url, trusted_proxies=[proxy],
                              admin_login_ip_limit="5/hour")
    username = unique("qt")
    await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
    async with from_address(app, proxy) as through_proxy:
        for n in range(5):
            assert_problem(await through_proxy.post(
                "/v1/admin/session", json={"username": f"g{n}-{username}", "password": WRONG},
                headers={"X-Forwarded-For": ADDRESS_A}), 401)
        assert_problem(await through_proxy.post(
            "/v1/admin/session", json={"username": username, "password": PASSWORD},
            headers={"X-Forwarded-For": ADDRESS_A}), 429)
        ok = await through_proxy.post(
            "/v1/admin/session", json={"username": username, "password": PASSWORD},
            headers={"X-Forwarded-For": ADDRESS_B})
        assert ok.status_code == 200, ok.text
    async with from_address(app, "192.0.2.99") as direct:
        for n in range(5):
            assert_problem(await direct.post(
                "/v1/admin/session", json={"username": f"d{n}-{username}", "password": WRONG},
                headers={"X-Forwarded-For": f"203.0.113.{n}"}), 401)
        assert_problem(await direct.post(
            "/v1/admin/session", json={"username": username, "password": PASSWORD},
            headers={"X-Forwarded-For": ADDRESS_B}), 429)


async def test_the_counts_are_shared_by_every_process_through_redis(
    database_url: str, hub_with: Callable[..., Any]
) -> None:
    """Two hubs on one database and one Redis stand for two gateway processes: failures
    counted by one make the same (username, address) wait in the other."""
    if not _redis_up():
        pytest.skip(f"Redis is not running at {REDIS_URL}")
    # A first wait longer than any pause of a loaded machine between two requests.
    shared = {"rate_limit_storage": REDIS_URL, "admin_login_first_delay_seconds": 120}
    _, first = await hub_with(database_url, **shared)
    hub, second = await hub_with(database_url, **shared)
    username = unique("qt")  # and an address of its own: other runs share this Redis
    await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
    address = "10." + ".".join(str(b) for b in secrets.token_bytes(3))
    async with from_address(first, address) as one, from_address(second, address) as two:
        for _ in range(hub.settings.admin_login_free_failures + 1):
            assert_problem(await _api_login(one, username, WRONG), 401)
        assert_problem(await _api_login(two, username, PASSWORD), 429)
    async with from_address(second, ADDRESS_B) as elsewhere:
        assert (await _api_login(elsewhere, username, PASSWORD)).status_code == 200


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False
