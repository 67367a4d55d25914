"""API6:2023 Unrestricted Access to Sensitive Business Flows — for the hub, the sensitive
flows are issuing credentials and admin access: only admins of the right agency run them,
every run is audited, a rotated secret stops at once, and a deactivated admin's session ends
on its next request."""

from __future__ import annotations

import base64

import httpx
import pytest

import auth
from tests.api._helpers import assert_problem
from tests.security.owasp.conftest import AdminTokens

pytestmark = pytest.mark.anyio


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode())
            .decode()}


async def test_rotated_client_secret_stops_at_once(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    created = (await client.post("/v1/admin/clients", headers=admins.g16,
                                 json={"agency": "G16", "name": "rotating"})).json()
    client_id, old = created["client_id"], created["client_secret"]
    form = {"grant_type": "client_credentials"}
    assert (await client.post(auth.TOKEN_PATH, data=form,
                              headers=_basic(client_id, old))).status_code == 200
    rotated = await client.post(f"/v1/admin/clients/{client_id}/secret", headers=admins.g16)
    assert rotated.status_code == 200
    new = rotated.json()["client_secret"]
    assert new != old
    assert (await client.post(auth.TOKEN_PATH, data=form,
                              headers=_basic(client_id, old))).status_code == 401
    assert (await client.post(auth.TOKEN_PATH, data=form,
                              headers=_basic(client_id, new))).status_code == 200


async def test_credential_flows_are_audited_with_outcome(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    await client.post("/v1/admin/clients", headers=admins.g16,
                      json={"agency": "G16", "name": "audited"})
    await client.post("/v1/admin/clients", headers=admins.g16,
                      json={"agency": "G16", "name": "dup", "client_id": "client-g16-dup"})
    again = await client.post("/v1/admin/clients", headers=admins.g16,
                              json={"agency": "G16", "name": "dup",
                                    "client_id": "client-g16-dup"})
    assert_problem(again, 409)
    entries = (await client.get("/v1/admin/audit", headers=admins.hub,
                                params={"action": "admin.clients.create",
                                        "actor": "sec-g16-admin"})).json()["items"]
    outcomes = {e["outcome"] for e in entries}
    assert {"ok", "failed"} <= outcomes
    assert all(e["request_id"] for e in entries)


async def test_deactivated_admin_session_ends(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    try:
        off = await client.patch("/v1/admin/users/sec-g15-admin", headers=admins.hub,
                                 json={"active": False})
        assert off.status_code == 200
        assert_problem(await client.get("/v1/admin/clients", headers=admins.g15), 401)
    finally:
        await client.patch("/v1/admin/users/sec-g15-admin", headers=admins.hub,
                           json={"active": True})
