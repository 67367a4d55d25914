"""API8:2023 Security Misconfiguration.

CORS is closed by default (no origin is echoed, preflights get no allow headers), unexpected
errors answer a problem without a stack trace or exception text, every answer carries the
security headers, and methods a route does not serve are 405 problems (TRACE included).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway import create_app
from hub import Hub
from tests.api._helpers import assert_problem
from tests.conftest import auth

pytestmark = pytest.mark.anyio


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    origin = {"Origin": "https://evil.example"}
    simple = await client.get("/v1/products", headers={**auth("g16"), **origin})
    assert "access-control-allow-origin" not in simple.headers
    preflight = await client.options("/v1/products", headers={
        **origin, "Access-Control-Request-Method": "DELETE",
        "Access-Control-Request-Headers": "Authorization"})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-credentials" not in preflight.headers
    login = await client.options("/v1/admin/session", headers={
        **origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in login.headers


@pytest.fixture
async def failing_client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hub.settings, hub=hub)
    app.state.hub = hub

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internal detail /etc/passwd password=hunter2")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


async def test_no_stack_trace_or_exception_text_reaches_clients(
    failing_client: httpx.AsyncClient,
) -> None:
    response = await failing_client.get("/boom")
    body = assert_problem(response, 500)
    for leak in ("Traceback", "RuntimeError", "hunter2", "/etc/passwd", 'File "'):
        assert leak not in response.text
    assert body["request_id"]


async def test_security_headers_on_every_kind_of_answer(
    client: httpx.AsyncClient,
) -> None:
    for response in (
        await client.get("/v1/products", headers=auth("g16")),
        await client.get("/v1/products"),  # 401
        await client.get("/v1/admin/clients", headers=auth("g16")),  # 403
        await client.get("/nowhere"),  # 404
        await client.post("/v1/admin/session", json={"username": "x", "password": "y"}),
    ):
        assert response.headers.get("x-content-type-options") == "nosniff"
        assert "server" not in response.headers or "uvicorn" not in response.headers["server"]


async def test_unserved_methods_are_405_problems(client: httpx.AsyncClient) -> None:
    for method, url in (("TRACE", "/v1/products"), ("PUT", "/v1/admin/session"),
                        ("DELETE", "/v1/admin/audit"), ("PATCH", "/v1/products/S-1")):
        response = await client.request(method, url, headers=auth("g16"))
        assert_problem(response, 405)
