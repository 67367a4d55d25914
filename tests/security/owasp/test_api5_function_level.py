"""API5:2023 Broken Function Level Authorization.

Every ``/v1/admin`` route (enumerated from the app) is 403 for record clients (no ``admin``
scope); hub-only functions (the agency registry) are 403 for agency admins; agency admins are
refused other agencies' objects and hub-admin powers; admin sessions have no record scopes.
"""

from __future__ import annotations

import httpx
import pytest

from tests.api._helpers import assert_problem
from tests.conftest import auth
from tests.security.owasp.conftest import AdminTokens, protected

pytestmark = pytest.mark.anyio

VALUES = {"code": "G15", "client_id": "client-g15", "username": "sec-g15-admin",
          "key_id": "0123456789abcdef"}


def _admin_routes(client: httpx.AsyncClient) -> list:  # type: ignore[type-arg]
    app = client._transport.app  # type: ignore[attr-defined]
    routes = [e for e in protected(app) if e.path.startswith("/v1/admin")]
    assert len(routes) >= 12
    return routes


@pytest.mark.parametrize("caller", ["g16", "reader", "tq"])
async def test_non_admins_get_403_on_every_admin_route(
    client: httpx.AsyncClient, caller: str
) -> None:
    for endpoint in _admin_routes(client):
        response = await client.request(endpoint.method, endpoint.url(**VALUES),
                                        headers=auth(caller), json={})
        assert response.status_code == 403, (str(endpoint), response.status_code)
        assert response.json()["required_scope"] in ("admin", "admin:hub")


async def test_hub_only_routes_are_403_for_agency_admins(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    hub_only = [e for e in _admin_routes(client)
                if e.path.startswith("/v1/admin/agencies") and e.method != "GET"]
    assert hub_only
    for endpoint in hub_only:
        response = await client.request(endpoint.method, endpoint.url(**VALUES),
                                        headers=admins.g16, json={})
        assert response.status_code == 403, str(endpoint)


async def test_agency_admins_cannot_reach_other_agencies(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    refused = [
        ("GET", "/v1/admin/clients", {"agency": "G15"}, None),
        ("GET", "/v1/admin/api-keys", {"agency": "G15"}, None),
        ("GET", "/v1/admin/users", {"agency": "G15"}, None),
        ("GET", "/v1/admin/audit", {"agency": "G15"}, None),
        ("POST", "/v1/admin/clients", None, {"agency": "G15", "name": "x"}),
        ("POST", "/v1/admin/users", None, {"username": "g15-by-g16", "role": "agency_admin",
                                           "agency": "G15", "password": "long password 123"}),
        ("POST", "/v1/admin/users", None, {"username": "hub-by-g16", "role": "hub_admin",
                                           "password": "long password 123"}),
        ("PATCH", "/v1/admin/users/sec-g16-admin", None, {"role": "hub_admin"}),
        ("PATCH", "/v1/admin/users/sec-g16-admin", None, {"agency": "G15"}),
    ]
    for method, url, params, body in refused:
        response = await client.request(method, url, params=params, json=body,
                                        headers=admins.g16)
        assert_problem(response, 403)
    # The lists an agency admin can see are its own agency's only.
    for url in ("/v1/admin/clients", "/v1/admin/users", "/v1/admin/audit"):
        items = (await client.get(url, headers=admins.g16)).json()["items"]
        assert all(item.get("agency") == "G16" for item in items), url


async def test_hub_admin_reaches_every_agency(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    for url in ("/v1/admin/clients", "/v1/admin/users", "/v1/admin/audit",
                "/v1/admin/api-keys"):
        response = await client.get(url, params={"agency": "G15"}, headers=admins.hub)
        assert response.status_code == 200, url


async def test_admin_tokens_have_no_record_scopes(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    for token in (admins.hub, admins.g16):
        assert_problem(await client.get("/v1/products", headers=token), 403)
        assert_problem(await client.get("/v1/changes", headers=token), 403)
