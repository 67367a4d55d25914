"""Rate limits (issue 3, item 6): per client after authentication and per IP before routing,
answered with 429 problem+json and ``Retry-After``; counted in memory or in Redis."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from auth._ratelimit import RateLimiter
from gateway import create_app
from hub import Hub
from tests.conftest import auth, make_settings

pytestmark = pytest.mark.anyio

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        if not _redis_up():
            pytest.skip("Redis is not running at 127.0.0.1:6379")
        return REDIS_URL
    return "memory://"


App = Callable[..., Any]


@pytest.fixture
def limited(hub: Hub, storage: str) -> App:
    """An app factory with small limits; each app counts under its own Redis key prefix."""

    @asynccontextmanager
    async def make(**limits: str) -> AsyncIterator[httpx.AsyncClient]:
        settings = make_settings(hub.settings.database_url, rate_limit_storage=storage, **limits)
        app = create_app(settings, hub=hub)
        app.state.hub = hub
        # Isolate this test's counters from every other run sharing the Redis server.
        limiter = RateLimiter.from_settings(settings)
        if storage != "memory://":
            limiter = RateLimiter(
                client=settings.rate_limit_client, ip=settings.rate_limit_ip, storage=storage,
                key_prefix=f"rightshub-test-{uuid.uuid4().hex}",
            )
        _swap_limiter(app, limiter)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
            yield c

    return make


def _swap_limiter(app: Any, limiter: RateLimiter) -> None:
    """Point the app's per-client check and its IP middleware at ``limiter``."""
    current = app.state.rate_limiter
    current.client_limits = limiter.client_limits
    current.ip_limits = limiter.ip_limits
    current.storage = limiter.storage
    current.strategy = limiter.strategy


def _assert_429(response: httpx.Response, window_seconds: int) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= window_seconds
    body: dict[str, Any] = response.json()
    assert body["type"] == "urn:rightshub:problem:rate-limited"
    assert body["status"] == 429
    assert body["retry_after"] == int(retry_after)
    return body


async def test_per_client_limit_answers_429_with_retry_after(limited: App) -> None:
    async with limited(rate_limit_client="3/minute", rate_limit_ip="1000/minute") as client:
        for _ in range(3):
            assert (await client.get("/v1/products", headers=auth("g16"))).status_code == 200
        _assert_429(await client.get("/v1/products", headers=auth("g16")), 60)
        # Writes count too, and another client of the same IP is not affected.
        _assert_429(
            await client.post("/v1/products:batch", json={"records": []}, headers=auth("g16")),
            60,
        )
        assert (await client.get("/v1/products", headers=auth("g15"))).status_code == 200


async def test_per_ip_limit_applies_before_routing(limited: App) -> None:
    async with limited(rate_limit_client="1000/minute", rate_limit_ip="4/minute") as client:
        assert (await client.get("/v1/products", headers=auth("g16"))).status_code == 200
        assert (await client.get("/v1/products")).status_code == 401
        assert (await client.get("/no/such/route")).status_code == 404
        assert (await client.get("/v1/products", headers=auth("g15"))).status_code == 200
        # Over the limit: refused whoever calls, even before authentication or routing.
        body = _assert_429(await client.get("/v1/products", headers=auth("g15")), 60)
        assert body["instance"] == "/v1/products"
        _assert_429(await client.get("/no/such/route"), 60)
        # Probes are never throttled.
        assert (await client.get("/healthz")).status_code == 200


async def test_retry_after_follows_the_window(limited: App) -> None:
    # A 5-second window, not 1 second: on a loaded CI machine the first request alone could
    # outlast a 1-second moving window, and the second would then rightly be let through.
    async with limited(rate_limit_client="1/5 seconds", rate_limit_ip="1000/minute") as client:
        assert (await client.get("/v1/products", headers=auth("tq"))).status_code == 200
        _assert_429(await client.get("/v1/products", headers=auth("tq")), 5)


async def test_limits_off_when_empty(limited: App) -> None:
    async with limited(rate_limit_client="", rate_limit_ip="") as client:
        for _ in range(5):
            assert (await client.get("/v1/products", headers=auth("hg"))).status_code == 200
