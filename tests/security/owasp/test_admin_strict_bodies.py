"""Admin request bodies are validated strictly (issue 24, items 4, 5, 7 and 8): no coercion
(``"yes"`` or ``1`` is not a boolean, ``0`` is not a date), an explicit ``null`` for a field
that cannot be empty is a 400 problem naming the field (not a 500 from the database), ``null``
for a field that can be empty clears it, ISO 8601 strings still become dates, and a body that
repeats a key is refused."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api._helpers import assert_problem
from tests.security.owasp.conftest import ADMIN_PASSWORD, AdminTokens

pytestmark = pytest.mark.anyio
JSON = {"Content-Type": "application/json"}


def assert_field_problem(response: httpx.Response, field: str) -> dict[str, Any]:
    """A 400 problem in both languages whose errors name ``body.<field>``."""
    body = assert_problem(response, 400)
    assert body["detail_vi"] != body["detail_en"]
    paths = [e["path"] for e in body.get("errors", [])]
    assert f"body.{field}" in paths, body
    for error in body["errors"]:
        assert error["message_vi"] and error["message_en"], error
        assert error["message_vi"] != error["message_en"], error
    return body


async def _agency(client: httpx.AsyncClient, admins: AdminTokens) -> str:
    code = f"S{uuid.uuid4().hex[:6]}"
    created = await client.post("/v1/admin/agencies", headers=admins.hub, json={
        "code": code, "name": f"Cơ quan {code}", "kind": "ministry", "level": "central",
        "valid_from": "2020-01-01", "note": "ghi chú"})
    assert created.status_code == 201, created.text
    assert created.json()["valid_from"] == "2020-01-01"
    return code


async def _user(client: httpx.AsyncClient, admins: AdminTokens) -> str:
    username = f"strict-{uuid.uuid4().hex[:8]}"
    created = await client.post("/v1/admin/users", headers=admins.hub, json={
        "username": username, "role": "agency_admin", "agency": "G16",
        "password": ADMIN_PASSWORD, "sso_subject": f"sub-{username}"})
    assert created.status_code == 201, created.text
    return username


@pytest.mark.parametrize("field", ["active", "role", "display_name"])
async def test_user_patch_null_for_a_not_null_field_is_400(
    client: httpx.AsyncClient, admins: AdminTokens, field: str
) -> None:
    username = await _user(client, admins)
    response = await client.patch(f"/v1/admin/users/{username}", headers=admins.hub,
                                  json={field: None})
    assert_field_problem(response, field)
    still = await client.get(f"/v1/admin/users/{username}", headers=admins.hub)
    assert still.json()["active"] is True and still.json()["role"] == "agency_admin"


async def test_user_patch_null_for_a_nullable_field_clears_it(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    username = await _user(client, admins)
    response = await client.patch(f"/v1/admin/users/{username}", headers=admins.hub,
                                  json={"sso_subject": None})
    assert response.status_code == 200, response.text
    assert response.json()["sso_subject"] is None


@pytest.mark.parametrize("value", ["yes", 1, 0, "true"])
async def test_user_patch_active_must_be_a_boolean(
    client: httpx.AsyncClient, admins: AdminTokens, value: object
) -> None:
    username = await _user(client, admins)
    response = await client.patch(f"/v1/admin/users/{username}", headers=admins.hub,
                                  json={"active": value})
    assert_field_problem(response, "active")


@pytest.mark.parametrize("field", ["level", "name", "kind"])
async def test_agency_patch_null_for_a_not_null_field_is_400(
    client: httpx.AsyncClient, admins: AdminTokens, field: str
) -> None:
    code = await _agency(client, admins)
    response = await client.patch(f"/v1/admin/agencies/{code}", headers=admins.hub,
                                  json={field: None})
    assert_field_problem(response, field)


async def test_agency_patch_null_clears_a_nullable_field(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    code = await _agency(client, admins)
    response = await client.patch(f"/v1/admin/agencies/{code}", headers=admins.hub,
                                  json={"note": None, "valid_from": None})
    assert response.status_code == 200, response.text
    assert response.json()["note"] is None and response.json()["valid_from"] is None


@pytest.mark.parametrize("value", [0, 1700000000, "0", "1700000000", True, 20240101.0])
async def test_agency_dates_refuse_numbers(
    client: httpx.AsyncClient, admins: AdminTokens, value: object
) -> None:
    code = f"N{uuid.uuid4().hex[:6]}"
    response = await client.post("/v1/admin/agencies", headers=admins.hub, json={
        "code": code, "name": "Cơ quan", "kind": "ministry", "level": "central",
        "valid_from": value})
    assert_field_problem(response, "valid_from")
    existing = await _agency(client, admins)
    response = await client.patch(f"/v1/admin/agencies/{existing}", headers=admins.hub,
                                  json={"valid_until": value})
    assert_field_problem(response, "valid_until")


async def test_agency_iso_dates_still_work(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    code = await _agency(client, admins)
    response = await client.patch(f"/v1/admin/agencies/{code}", headers=admins.hub, json={
        "valid_until": "2030-12-31",
        "successors": [{"code": "G16", "effective_on": "2031-01-01"}]})
    assert response.status_code == 200, response.text
    assert response.json()["valid_until"] == "2030-12-31"
    assert response.json()["successors"][0]["effective_on"] == "2031-01-01"


@pytest.mark.parametrize("value", ["yes", 1, None])
async def test_client_patch_active_is_strict(
    client: httpx.AsyncClient, admins: AdminTokens, value: object
) -> None:
    created = await client.post("/v1/admin/clients", headers=admins.g16,
                                json={"agency": "G16", "name": "strict"})
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    response = await client.patch(f"/v1/admin/clients/{client_id}", headers=admins.g16,
                                  json={"active": value})
    assert_field_problem(response, "active")
    assert (await client.get(f"/v1/admin/clients/{client_id}",
                             headers=admins.g16)).json()["active"] is True
    ok = await client.patch(f"/v1/admin/clients/{client_id}", headers=admins.g16,
                            json={"active": False})
    assert ok.status_code == 200 and ok.json()["active"] is False


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/admin/api-keys/rhk_nokey/rotate", {"overlap_seconds": "60"}, "overlap_seconds"),
    ("/v1/admin/api-keys/rhk_nokey/rotate", {"overlap_seconds": True}, "overlap_seconds"),
    ("/v1/admin/api-keys/rhk_nokey/rotate", {"expires_at": 1700000000}, "expires_at"),
    ("/v1/admin/clients", {"agency": "G16", "name": 5}, "name"),
    ("/v1/admin/clients", {"agency": "G16", "name": "x", "scopes": None}, "scopes"),
    ("/v1/admin/users", {"username": "abcdef", "role": "hub_admin", "password": 123456789012},
     "password"),
])
async def test_other_admin_bodies_refuse_coercion(
    client: httpx.AsyncClient, admins: AdminTokens, path: str, body: dict[str, Any], field: str
) -> None:
    assert_field_problem(await client.post(path, headers=admins.hub, json=body), field)


@pytest.mark.parametrize(("body", "field"), [
    ({"active": None}, "active"), ({"active": "yes"}, "active"), ({"name": None}, "name"),
    ({"endpoint_url": None}, "endpoint_url"), ({"secret": None}, "secret"),
])
async def test_subscription_patch_is_strict(
    client: httpx.AsyncClient, admins: AdminTokens, body: dict[str, Any], field: str
) -> None:
    response = await client.patch(f"/v1/admin/subscriptions/{uuid.uuid4()}",
                                  headers=admins.hub, json=body)
    assert_field_problem(response, field)


@pytest.mark.parametrize(("body", "field"), [
    ({"enabled": None}, "enabled"), ({"enabled": 1}, "enabled"), ({"name": None}, "name"),
    ({"config": None}, "config"), ({"schedule_seconds": None}, "schedule_seconds"),
    ({"schedule_seconds": "60"}, "schedule_seconds"), ({"secrets": None}, "secrets"),
])
async def test_connector_patch_is_strict(
    client: httpx.AsyncClient, admins: AdminTokens, body: dict[str, Any], field: str
) -> None:
    response = await client.patch("/v1/admin/connectors/no-such-connector",
                                  headers=admins.hub, json=body)
    assert_field_problem(response, field)


# --- duplicate keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/v1/admin/clients",
     b'{"agency": "G16", "name": "first", "name": "second"}'),
    ("POST", "/v1/admin/session",
     b'{"username": "dup-nobody", "username": "dup-nobody-2", "password": "x"}'),
    ("PATCH", "/v1/admin/users/{user}", b'{"active": true, "active": false}'),
    ("PATCH", "/v1/admin/agencies/G16", b'{"successors": [{"code": "G15", '
     b'"code": "G16", "effective_on": "2031-01-01"}]}'),
])
async def test_admin_bodies_refuse_duplicate_keys(
    client: httpx.AsyncClient, admins: AdminTokens, method: str, path: str, body: bytes
) -> None:
    user = await _user(client, admins)
    response = await client.request(method, path.format(user=user), content=body,
                                    headers={**admins.hub, **JSON})
    problem = assert_problem(response, 400)
    assert "duplicate" in problem["detail_en"].lower()
    assert "trùng" in problem["detail_vi"]
    assert (await client.get(f"/v1/admin/users/{user}",
                             headers=admins.hub)).json()["active"] is True


@pytest.mark.parametrize("level", ["local", "other"])
async def test_every_admin_level_is_a_registry_level(
    client: httpx.AsyncClient, admins: AdminTokens, level: str
) -> None:
    """The admin API (and the console) take four levels; the registry answered and documented
    two, so an agency at "local" broke its contract (the admin fuzz run found it)."""
    code = f"L{uuid.uuid4().hex[:6]}"
    created = await client.post("/v1/admin/agencies", headers=admins.hub, json={
        "code": code, "name": "Cơ quan cấp xã", "kind": "commune", "level": level})
    assert created.status_code == 201, created.text
    reader = {"Authorization": "Bearer test-token-g16-0123456789abcdef"}
    listed = await client.get("/v1/agencies", params={"level": level}, headers=reader)
    assert listed.status_code == 200, listed.text
    assert code in [a["code"] for a in listed.json()["items"]]
    document = (await client.get("/openapi.json")).json()
    schema = document["components"]["schemas"]["gateway___wire__AgencyOut"]
    assert level in schema["properties"]["level"]["enum"]
