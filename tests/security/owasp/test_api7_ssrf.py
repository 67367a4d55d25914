"""API7:2023 Server Side Request Forgery — no API input makes the hub fetch a URL.

Client public keys (``private_key_jwt``) are registered inline as a JWKS, never as a
``jwks_uri`` the hub would fetch; the OIDC issuer comes from settings only; record links are
stored as data and never dereferenced.
"""

from __future__ import annotations

import httpx
import pytest

from tests.api._helpers import assert_problem
from tests.conftest import auth
from tests.security.owasp.conftest import AdminTokens, sample

pytestmark = pytest.mark.anyio


async def test_jwks_uri_is_not_accepted(client: httpx.AsyncClient, admins: AdminTokens) -> None:
    response = await client.post("/v1/admin/clients", headers=admins.hub, json={
        "agency": "G16", "name": "ssrf", "auth_method": "private_key_jwt",
        "jwks_uri": "http://169.254.169.254/latest/meta-data/"})
    assert_problem(response, 400)


async def test_no_admin_route_takes_an_idp_or_url_setting(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for name, schema in spec["components"]["schemas"].items():
        if not name.endswith(("Create", "Update", "Rotate", "Request", "Reset")):
            continue
        if name.startswith("Subscription"):
            # Push subscriptions exist to POST to an agency's endpoint (and its token URL):
            # guarded like pull connectors (connectors.check_outbound_url), see
            # tests/delivery/test_admin_api.py::test_bad_input_is_a_problem.
            continue
        for prop in schema.get("properties", {}):
            assert not prop.endswith(("_uri", "_url", "issuer")), (name, prop)


async def test_record_links_are_not_fetched(client: httpx.AsyncClient) -> None:
    # An unroutable address: fetching it would hang or fail the request.
    body = sample("products", "SSRF-1",
                  links=[{"url": "http://10.255.255.1:9/x", "label": "nội bộ"}])
    response = await client.put("/v1/products/SSRF-1", headers=auth("g16"), json=body,
                                timeout=5)
    assert response.status_code == 201, response.text
