"""API4:2023 Unrestricted Resource Consumption.

Page sizes are capped (records, changes, audit), bodies over the configured size are refused
with 413 before they are read (admin routes included), batches are limited in records, and
the admin login is throttled (see API2).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway import create_app
from hub import Hub
from tests.api._helpers import assert_problem
from tests.conftest import auth, make_settings
from tests.security.owasp.conftest import AdminTokens, sample

pytestmark = pytest.mark.anyio


@pytest.fixture
async def small_client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(hub.settings.database_url, max_body_bytes=4096,
                             max_batch_records=5, max_page_size=3)
    small = Hub(settings)
    app = create_app(settings, hub=small)
    app.state.hub = small
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
            yield c
    finally:
        await small.close()


async def test_page_size_is_capped(small_client: httpx.AsyncClient) -> None:
    records = [sample("products", f"PAGE-{i}") for i in range(5)]
    await small_client.post("/v1/products:batch", headers=auth("g16"), json={"records": records})
    page = await small_client.get("/v1/products", params={"limit": 1000}, headers=auth("g16"))
    assert page.status_code == 200
    assert len(page.json()["items"]) == 3
    too_big = await small_client.get("/v1/products", params={"limit": 10**9},
                                     headers=auth("g16"))
    assert_problem(too_big, 400)
    changes = await small_client.get("/v1/changes", params={"limit": 10**9},
                                     headers=auth("g16"))
    assert changes.status_code == 400


async def test_audit_page_size_is_capped(client: httpx.AsyncClient, admins: AdminTokens) -> None:
    assert_problem(await client.get("/v1/admin/audit", params={"limit": 100000},
                                    headers=admins.hub), 400)
    ok = await client.get("/v1/admin/audit", params={"limit": 500}, headers=admins.hub)
    assert ok.status_code == 200 and len(ok.json()["items"]) <= 500


async def test_batch_record_limit(small_client: httpx.AsyncClient) -> None:
    records = [sample("products", f"LIM-{i}") for i in range(6)]
    response = await small_client.post("/v1/products:batch", headers=auth("g16"),
                                       json={"records": records})
    assert_problem(response, 413)


@pytest.mark.parametrize("url", ["/v1/products:batch", "/v1/products/BIG-1",
                                 "/v1/admin/session", "/v1/admin/clients"])
async def test_oversized_bodies_are_413(small_client: httpx.AsyncClient, url: str) -> None:
    body = b'{"title": "' + b"a" * 10_000 + b'"}'
    method = "PUT" if url.endswith("BIG-1") else "POST"
    response = await small_client.request(
        method, url, content=body,
        headers={**auth("g16"), "Content-Type": "application/json"},
    )
    assert_problem(response, 413)


async def test_overlong_strings_in_admin_bodies_are_400(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    response = await client.post("/v1/admin/clients", headers=admins.g16,
                                 json={"agency": "G16", "name": "x" * 5000})
    assert_problem(response, 400)
    response = await client.post("/v1/admin/session",
                                 json={"username": "u" * 5000, "password": "p"})
    assert_problem(response, 400)
