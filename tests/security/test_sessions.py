"""Issue 16, finding 5: console and admin sessions end when they should.

Sessions are held server-side (auth/_sessions.py): a cookie kept after logout opens nothing,
and a password reset, a demotion or a deactivation end the account's console cookies and its
admin tokens at the next request. Idle and absolute expiry end them too. Runs on SQLite and
PostgreSQL, in process through ASGI.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from auth._admins import create_admin, reset_password
from auth._authority import authority
from auth._tokens import sign_access_token
from gateway import create_app
from gateway.console._session import COOKIE
from hub import Hub
from hub.tables import AdminSession, utcnow
from tests.api._helpers import assert_problem
from tests.conftest import make_settings
from tests.console._helpers import PASSWORD, csrf, sign_in, unique
from tests.security.owasp.conftest import AdminTokens, ensure_admins, login

pytestmark = pytest.mark.anyio


@pytest.fixture
async def admins(hub: Hub, client: httpx.AsyncClient) -> AdminTokens:
    await ensure_admins(hub)
    return AdminTokens(hub=await login(client, "sec-hub-admin"),
                       g16=await login(client, "sec-g16-admin"),
                       g15=await login(client, "sec-g15-admin"))


@pytest.fixture
async def other(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same app: its own cookie jar."""
    async with httpx.AsyncClient(transport=client._transport, base_url="http://hub.test") as c:
        yield c


async def _console_cookie(client: httpx.AsyncClient, username: str) -> str:
    signed = await sign_in(client, username)
    assert signed.status_code == 303, signed.text
    value = client.cookies.get(COOKIE)
    assert value
    return value


async def _opens_clients(client: httpx.AsyncClient, cookie: str) -> bool:
    """Whether a request carrying only ``cookie`` opens /console/clients."""
    page = await client.get("/console/clients", headers={"Cookie": f"{COOKIE}={cookie}"})
    if page.status_code == 303:
        assert page.headers["location"].startswith("/console/login")
        return False
    assert page.status_code == 200, page.status_code
    return True


async def _api_token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await client.post("/v1/admin/session",
                               json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def test_the_cookie_kept_after_logout_opens_nothing(
    hub: Hub, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    username = unique("qt")
    await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
    cookie = await _console_cookie(client, username)
    assert await _opens_clients(other, cookie)
    out = await client.post("/console/logout", data={"csrf_token": await csrf(client)})
    assert out.status_code == 303
    assert not await _opens_clients(other, cookie)
    # Signing in again works, with a new cookie.
    assert await _opens_clients(other, await _console_cookie(client, username))


CHANGES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "password reset": ("POST", "/password", {"password": "một mật khẩu mới đủ dài"}),
    "demotion": ("PATCH", "", {"role": "agency_admin", "agency": "G16"}),
    "deactivation": ("PATCH", "", {"active": False}),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_account_changes_end_its_cookies_and_tokens(
    change: str, hub: Hub, client: httpx.AsyncClient, other: httpx.AsyncClient,
    admins: AdminTokens,
) -> None:
    username = unique("qt")
    await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
    cookie = await _console_cookie(other, username)
    token = await _api_token(client, username)
    assert await _opens_clients(client, cookie)
    assert (await client.get("/v1/admin/clients", headers=token)).status_code == 200
    bystander = admins.g16  # another admin's token: untouched by the change

    method, suffix, body = CHANGES[change]
    done = await client.request(method, f"/v1/admin/users/{username}{suffix}", json=body,
                                headers=admins.hub)
    assert done.status_code == 200, done.text

    assert not await _opens_clients(client, cookie)
    assert_problem(await client.get("/v1/admin/clients", headers=token), 401)
    assert (await client.get("/v1/admin/clients", headers=bystander)).status_code == 200


async def test_a_password_reset_in_the_console_ends_the_sessions_too(
    hub: Hub, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    manager = unique("qt")
    await create_admin(hub, username=manager, role="hub_admin", password=PASSWORD)
    target = unique("qt")
    await create_admin(hub, username=target, role="agency_admin", agency="G16",
                       password=PASSWORD)
    cookie = await _console_cookie(other, target)
    token = await _api_token(client, target)
    await sign_in(client, manager)
    reset = await client.post(f"/console/users/{target}/password", data={
        "csrf_token": await csrf(client, "/console/users"),
        "password": "mật khẩu mới của cơ quan"})
    assert reset.status_code == 303
    assert not await _opens_clients(client, cookie)
    assert_problem(await client.get("/v1/admin/clients", headers=token), 401)


async def test_idle_and_absolute_expiry(
    hub: Hub, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    username = unique("qt")
    await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
    idle = timedelta(seconds=hub.settings.admin_session_idle_seconds)

    async def age(column: str, value: Any) -> None:
        async with hub.db.transaction() as session:
            await session.execute(sa.update(AdminSession)
                                  .where(AdminSession.username == username)
                                  .values({column: value}))

    cookie = await _console_cookie(other, username)
    token = await _api_token(client, username)
    await age("last_seen_at", utcnow() - idle + timedelta(seconds=90))
    assert await _opens_clients(client, cookie)  # still inside the idle limit: renewed
    async with hub.db.session() as session:
        seen = await session.scalar(sa.select(AdminSession.last_seen_at).where(
            AdminSession.username == username, AdminSession.channel == "console"))
        assert seen is not None and utcnow() - seen < timedelta(seconds=30)
    await age("last_seen_at", utcnow() - idle - timedelta(seconds=1))
    assert not await _opens_clients(client, cookie)
    assert_problem(await client.get("/v1/admin/clients", headers=token), 401)

    cookie = await _console_cookie(other, username)
    token = await _api_token(client, username)
    await age("expires_at", utcnow() - timedelta(seconds=1))
    assert not await _opens_clients(client, cookie)
    assert_problem(await client.get("/v1/admin/clients", headers=token), 401)


async def test_admin_tokens_need_a_live_session_of_their_own_account(
    hub: Hub, client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    auth = authority(hub)
    await auth.keys.refresh()
    async with hub.db.session() as session:
        sid = await session.scalar(sa.select(AdminSession.id)
                                   .where(AdminSession.username == "sec-g16-admin"))
    assert sid is not None
    for label, session_id in (("no sid", None), ("unknown sid", secrets.token_hex(32)),
                              ("another admin's sid", sid)):
        forged = sign_access_token(auth, subject="sec-hub-admin", agency="",
                                   scopes=["admin", "admin:hub"], kind="admin",
                                   role="hub_admin", session_id=session_id)
        answer = await client.get("/v1/admin/clients",
                                  headers={"Authorization": f"Bearer {forged.access_token}"})
        assert answer.status_code == 401, label


async def test_an_ended_session_is_refused_at_once_by_another_process(
    hub: Hub, client: httpx.AsyncClient, database_url: str
) -> None:
    """A second hub on the same database stands for another gateway process: no cache keeps
    a token alive there after the session ended here."""
    username = unique("qt")
    await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
    token = await _api_token(client, username)
    settings = make_settings(database_url)
    elsewhere_hub = Hub(settings)
    app = create_app(settings, hub=elsewhere_hub)
    app.state.hub = elsewhere_hub
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://hub.test") as elsewhere:
            assert (await elsewhere.get("/v1/admin/clients", headers=token)).status_code == 200
            await reset_password(hub, username, "một mật khẩu khác đủ dài")
            assert_problem(await elsewhere.get("/v1/admin/clients", headers=token), 401)
    finally:
        await elsewhere_hub.close()
