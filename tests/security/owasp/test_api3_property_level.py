"""API3:2023 Broken Object Property Level Authorization.

Mass assignment: fields the hub owns (version, owner, provenance, timestamps, ...) cannot be
set through PUT or a batch, and admin bodies refuse unknown fields (a client cannot promote
itself, a user cannot set its own hash). Excessive data exposure: records carry exactly the
documented envelope, admin answers never carry hashes, and secrets appear only once.
"""

from __future__ import annotations

import httpx
import pytest

import schemas
from tests.api._helpers import assert_batch_rejected, assert_problem
from tests.conftest import auth
from tests.security.owasp.conftest import AdminTokens, sample

pytestmark = pytest.mark.anyio

FORGED = {
    "id": "00000000-0000-0000-0000-000000000000", "owner_agency": "G15", "version": 99,
    "content_hash": "0" * 64, "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z", "deleted": True,
    "provenance": {"channel": "forged", "client": "someone-else"},
}


def test_every_hub_owned_field_is_tried() -> None:
    assert set(FORGED) == set(schemas.HUB_OWNED_FIELDS)


@pytest.mark.parametrize("field", sorted(FORGED))
async def test_hub_owned_fields_are_refused_on_put(client: httpx.AsyncClient, field: str) -> None:
    body = sample("products", "MASS-1", **{field: FORGED[field]})
    response = await client.put("/v1/products/MASS-1", headers=auth("g16"), json=body)
    problem = assert_problem(response, 422)
    assert field in response.text
    assert problem["errors"]
    missing = await client.get("/v1/products/MASS-1", headers=auth("g16"))
    assert missing.status_code == 404


async def test_hub_owned_fields_are_refused_in_batches(client: httpx.AsyncClient) -> None:
    for record_type in schemas.RECORD_TYPES:
        records = [sample(record_type, f"MASS-{f}", **{f: v}) for f, v in FORGED.items()]
        response = await client.post(f"/v1/{record_type}:batch", headers=auth("g16"),
                                     json={"records": records})
        summary = assert_batch_rejected(response)
        assert summary["created"] == 0 and summary["rejected"] == len(FORGED), record_type


async def test_records_expose_exactly_the_envelope(client: httpx.AsyncClient) -> None:
    put = await client.put("/v1/products/ENV-1", headers=auth("g16"),
                           json=sample("products", "ENV-1"))
    assert put.status_code == 201
    body = put.json()
    assert set(body) == set(schemas.RecordEnvelope.model_fields)
    listed = (await client.get("/v1/products", headers=auth("g16"))).json()["items"]
    for item in listed:
        assert set(item) == set(schemas.RecordEnvelope.model_fields)
        for internal in ("search_text", "title_folded", "seq", "primary_date"):
            assert internal not in item


async def test_admin_bodies_refuse_unknown_fields(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    attempts = [
        ("/v1/admin/clients", {"agency": "G16", "name": "x", "secret_hash": "0" * 64}),
        ("/v1/admin/clients", {"agency": "G16", "name": "x", "active": False,
                               "created_by": "someone"}),
        ("/v1/admin/users", {"username": "mass-user", "role": "agency_admin", "agency": "G16",
                             "password": "long enough password",
                             "password_hash": "$argon2id$forged"}),
        ("/v1/admin/api-keys", {"client_id": "client-g16", "name": "x", "key_hash": "0"}),
    ]
    for url, body in attempts:
        assert_problem(await client.post(url, headers=admins.g16, json=body), 400)
    user = await client.post("/v1/admin/users", headers=admins.g16, json={
        "username": "mass-user-2", "role": "agency_admin", "agency": "G16",
        "password": "long enough password"})
    if user.status_code == 201:
        patch = await client.patch("/v1/admin/users/mass-user-2", headers=admins.g16,
                                   json={"password_hash": "x"})
        assert_problem(patch, 400)


async def test_clients_cannot_be_given_admin_hub_and_agency_admins_cannot_give_admin(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    for token in (admins.hub, admins.g16):
        response = await client.post("/v1/admin/clients", headers=token, json={
            "agency": "G16", "name": "x", "scopes": ["records:read", "admin:hub"]})
        assert response.status_code in (400, 403)
    response = await client.post("/v1/admin/clients", headers=admins.g16, json={
        "agency": "G16", "name": "x", "scopes": ["admin"]})
    assert_problem(response, 403)


async def test_secrets_are_shown_once_and_never_listed(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    created = (await client.post("/v1/admin/clients", headers=admins.g16,
                                 json={"agency": "G16", "name": "once"})).json()
    key = (await client.post("/v1/admin/api-keys", headers=admins.g16,
                             json={"client_id": created["client_id"], "name": "once"})).json()
    secrets = [created["client_secret"], key["api_key"]]
    for url in ("/v1/admin/clients", f"/v1/admin/clients/{created['client_id']}",
                "/v1/admin/api-keys", "/v1/admin/audit", "/v1/admin/users"):
        text = (await client.get(url, headers=admins.g16)).text
        for secret in secrets:
            assert secret not in text, url
        assert "_hash" not in text.replace("entry_hash", ""), url
