"""Issue 16: console cookies are ``Secure`` in production whatever the request's scheme (TLS
ends in front of the hub), and ``/metrics`` asks for its bearer token when
``RIGHTSHUB_METRICS_TOKEN`` is set (open as before when it is not)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from auth._admins import create_admin
from gateway import create_app
from gateway.console._session import COOKIE
from hub import Hub
from tests.api._helpers import assert_problem
from tests.conftest import make_settings
from tests.console._helpers import PASSWORD, csrf_of, unique

pytestmark = pytest.mark.anyio

METRICS_TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
def app_with(database_url: str) -> Callable[..., Any]:
    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[Hub, httpx.AsyncClient]]:
        settings = make_settings(database_url, **overrides)
        hub = Hub(settings)
        app = create_app(settings, hub=hub)
        app.state.hub = hub
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
                yield hub, c
        finally:
            await hub.close()

    return make


def _session_cookies(response: httpx.Response) -> list[str]:
    return [v for k, v in response.headers.multi_items()
            if k == "set-cookie" and v.startswith(COOKIE + "=")]


async def test_console_cookies_are_secure_in_production_over_plain_http(
    app_with: Callable[..., Any]
) -> None:
    async with app_with(environment="production", secret_key="s" * 40) as (hub, client):
        username = unique("qt")
        await create_admin(hub, username=username, role="hub_admin", password=PASSWORD)
        form = await client.get("/console/login")
        assert form.request.url.scheme == "http"
        anonymous = _session_cookies(form)
        # httpx, like a browser, does not send a Secure cookie over plain http: it goes by
        # hand here, as the TLS-terminating proxy in front of the hub would pass it on.
        value = anonymous[0].split(";", 1)[0]
        signed = await client.post("/console/login", headers={"Cookie": value}, data={
            "csrf_token": csrf_of(form), "username": username, "password": PASSWORD,
            "next": "/console/dashboard"})
        assert signed.status_code == 303, signed.text
        cookies = anonymous + _session_cookies(signed)
        assert len(cookies) == 2
        for cookie in cookies:
            assert "; secure" in cookie.lower() and "httponly" in cookie.lower(), cookie


async def test_console_cookies_outside_production_follow_the_scheme(
    client: httpx.AsyncClient
) -> None:
    cookies = _session_cookies(await client.get("/console/login"))
    assert cookies and "; secure" not in cookies[0].lower()


async def test_metrics_need_the_token_when_one_is_set(app_with: Callable[..., Any]) -> None:
    async with app_with(metrics_token=METRICS_TOKEN) as (_, client):
        for headers in ({}, {"Authorization": "Bearer not-the-metrics-token"},
                        {"Authorization": f"Basic {METRICS_TOKEN}"}):
            refused = await client.get("/metrics", headers=headers)
            body = assert_problem(refused, 401)
            assert "metrics" in body["detail_en"] and refused.headers["www-authenticate"]
            assert "python_info" not in refused.text
        ok = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert ok.status_code == 200 and "python_info" in ok.text


async def test_metrics_stay_open_without_a_token(client: httpx.AsyncClient) -> None:
    ok = await client.get("/metrics")
    assert ok.status_code == 200 and "python_info" in ok.text
