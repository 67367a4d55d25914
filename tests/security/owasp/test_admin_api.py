"""The admin API end to end (not an OWASP category itself; the categories build on it):
sessions, agencies, clients, API keys, admin users and the audit log."""

from __future__ import annotations

import httpx
import pytest

from hub import Hub
from tests.api._helpers import assert_problem
from tests.security.owasp.conftest import ADMIN_PASSWORD, AdminTokens, login, sample

pytestmark = pytest.mark.anyio


async def test_session_token_is_a_short_lived_admin_token(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    response = await client.post("/v1/admin/session",
                                 json={"username": "sec-hub-admin", "password": ADMIN_PASSWORD})
    body = response.json()
    assert response.status_code == 200
    assert body["role"] == "hub_admin" and body["agency"] is None
    assert set(body["scope"].split()) == {"admin", "admin:hub"}
    assert 0 < body["expires_in"] <= 3600
    agency = (await client.post("/v1/admin/session", json={
        "username": "sec-g16-admin", "password": ADMIN_PASSWORD})).json()
    assert agency["scope"] == "admin" and agency["agency"] == "G16"


async def test_wrong_password_and_unknown_user_look_the_same(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    wrong = await client.post("/v1/admin/session",
                              json={"username": "sec-hub-admin", "password": "not it at all"})
    unknown = await client.post("/v1/admin/session",
                                json={"username": "nobody-here", "password": "not it at all"})
    a, b = assert_problem(wrong, 401), assert_problem(unknown, 401)
    for key in ("type", "title", "detail", "detail_vi", "detail_en"):
        assert a[key] == b[key]


async def test_clients_and_api_keys_lifecycle(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    created = await client.post("/v1/admin/clients", headers=admins.g16, json={
        "agency": "G16", "name": "Hệ thống xuất bản", "scopes": ["records:read"]})
    assert created.status_code == 201, created.text
    body = created.json()
    secret, client_id = body["client_secret"], body["client_id"]
    assert secret and created.headers["cache-control"] == "no-store"
    listed = await client.get("/v1/admin/clients", headers=admins.g16)
    assert client_id in [c["client_id"] for c in listed.json()["items"]]
    assert secret not in listed.text and "secret_hash" not in listed.text
    assert {c["agency"] for c in listed.json()["items"]} == {"G16"}
    one = await client.get(f"/v1/admin/clients/{client_id}", headers=admins.g16)
    assert one.status_code == 200 and secret not in one.text

    patched = await client.patch(f"/v1/admin/clients/{client_id}", headers=admins.g16,
                                 json={"scopes": ["records:read", "records:write"]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["scopes"] == ["records:read", "records:write"]

    key = await client.post("/v1/admin/api-keys", headers=admins.g16, json={
        "client_id": client_id, "name": "cron", "scopes": ["records:read"]})
    assert key.status_code == 201, key.text
    api_key, key_id = key.json()["api_key"], key.json()["key_id"]
    assert api_key.startswith("rhk_")
    assert (await client.get("/v1/products", headers={"X-API-Key": api_key})).status_code == 200
    by_prefix = await client.get("/v1/admin/api-keys", headers=admins.g16,
                                 params={"prefix": key.json()["prefix"]})
    assert [k["key_id"] for k in by_prefix.json()["items"]] == [key_id]
    assert api_key not in by_prefix.text

    rotated = await client.post(f"/v1/admin/api-keys/{key_id}/rotate", headers=admins.g16,
                                json={"overlap_seconds": 3600})
    assert rotated.status_code == 201, rotated.text
    new_key = rotated.json()["api_key"]
    for k in (api_key, new_key):  # both work during the overlap
        assert (await client.get("/v1/products", headers={"X-API-Key": k})).status_code == 200
    revoked = await client.post(f"/v1/admin/api-keys/{key_id}/revoke", headers=admins.g16)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_problem(await client.get("/v1/products", headers={"X-API-Key": api_key}), 401)
    assert (await client.get("/v1/products", headers={"X-API-Key": new_key})).status_code == 200

    gone = await client.delete(f"/v1/admin/clients/{client_id}", headers=admins.g16)
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert_problem(await client.get("/v1/products", headers={"X-API-Key": new_key}), 401)


async def test_admin_users_lifecycle(client: httpx.AsyncClient, admins: AdminTokens,
                                     hub: Hub) -> None:
    import uuid

    name = f"ops-{uuid.uuid4().hex[:8]}"
    created = await client.post("/v1/admin/users", headers=admins.g16, json={
        "username": name, "role": "agency_admin", "agency": "G16",
        "password": "a long enough password"})
    assert created.status_code == 201, created.text
    assert "password" not in created.text.replace("has_password", "")
    token = await login(client, name, "a long enough password")
    assert (await client.get("/v1/admin/clients", headers=token)).status_code == 200
    reset = await client.post(f"/v1/admin/users/{name}/password", headers=admins.g16,
                              json={"password": "another long password"})
    assert reset.status_code == 200
    await login(client, name, "another long password")
    off = await client.patch(f"/v1/admin/users/{name}", headers=admins.g16,
                             json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    # A deactivated admin's token stops working and it cannot log in.
    assert_problem(await client.get("/v1/admin/clients", headers=token), 401)
    assert_problem(await client.post("/v1/admin/session", json={
        "username": name, "password": "another long password"}), 401)
    listed = await client.get("/v1/admin/users", headers=admins.g16)
    assert {u["agency"] for u in listed.json()["items"]} == {"G16"}
    assert "password_hash" not in listed.text and "$argon2" not in listed.text


async def test_agencies_with_validity_and_successors(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    import uuid

    old, new = f"T{uuid.uuid4().hex[:6]}", f"T{uuid.uuid4().hex[:6]}"
    for code in (new, old):
        response = await client.post("/v1/admin/agencies", headers=admins.hub, json={
            "code": code, "name": f"Cơ quan {code}", "kind": "ministry", "level": "central",
            "valid_from": "2020-01-01"})
        assert response.status_code == 201, response.text
    updated = await client.patch(f"/v1/admin/agencies/{old}", headers=admins.hub, json={
        "valid_until": "2025-02-28",
        "successors": [{"code": new, "effective_on": "2025-03-01"}]})
    assert updated.status_code == 200, updated.text
    assert updated.json()["successors"][0]["code"] == new
    cycle = await client.patch(f"/v1/admin/agencies/{new}", headers=admins.hub, json={
        "successors": [{"code": old, "effective_on": "2025-03-01"}]})
    assert_problem(cycle, 400)
    bad = await client.patch(f"/v1/admin/agencies/{old}", headers=admins.hub,
                             json={"valid_until": "2019-01-01"})
    assert_problem(bad, 400)
    registry = await client.get(f"/v1/agencies/{old}",
                                headers={"Authorization": "Bearer test-token-g16-0123456789abcdef"})
    assert registry.status_code == 200, registry.text


async def test_agency_answers_are_the_public_shape_and_no_column_more(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    """The answers are hub.tables' AgencyPublic: the table's created_at stays in the hub, and
    the successor links show the successor's side only, sorted by code."""
    import uuid

    fields = {"code", "name", "kind", "level", "valid_from", "valid_until", "note",
              "successors"}
    a, b, c = (f"T{uuid.uuid4().hex[:6]}" for _ in range(3))
    for code in (b, a):
        created = await client.post("/v1/admin/agencies", headers=admins.hub, json={
            "code": code, "name": f"Cơ quan {code}", "kind": "ministry", "level": "central"})
        assert created.status_code == 201, created.text
        assert set(created.json()) == fields and created.json()["note"] is None
    created = await client.post("/v1/admin/agencies", headers=admins.hub, json={
        "code": c, "name": f"Cơ quan {c}", "kind": "ministry", "level": "central",
        "valid_until": "2025-02-28", "successors": [
            {"code": b, "effective_on": "2025-03-01", "note": "phần còn lại"},
            {"code": a, "effective_on": "2025-03-01"}]})
    assert created.status_code == 201, created.text
    links = sorted([{"code": a, "effective_on": "2025-03-01", "note": None},
                    {"code": b, "effective_on": "2025-03-01", "note": "phần còn lại"}],
                   key=lambda link: str(link["code"]))
    assert created.json()["successors"] == links
    listed = await client.get("/v1/admin/agencies", headers=admins.hub)
    mine = next(i for i in listed.json()["items"] if i["code"] == c)
    assert set(mine) == fields and mine["successors"] == links
    assert "created_at" not in listed.text


async def test_audit_log_records_admin_actions_and_paginates(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    for i in range(3):
        response = await client.post("/v1/admin/clients", headers=admins.g16, json={
            "agency": "G16", "name": f"audit-{i}"})
        assert response.status_code == 201
    page = await client.get("/v1/admin/audit", headers=admins.g16,
                            params={"action": "admin.clients.create", "limit": 2})
    assert page.status_code == 200, page.text
    body = page.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    assert all(e["agency"] == "G16" and e["actor"] == "sec-g16-admin" for e in body["items"])
    seqs = [e["seq"] for e in body["items"]]
    more = (await client.get("/v1/admin/audit", headers=admins.g16, params={
        "action": "admin.clients.create", "limit": 2, "cursor": body["next_cursor"]})).json()
    assert more["items"] and max(e["seq"] for e in more["items"]) < min(seqs)
    logins = (await client.get("/v1/admin/audit", headers=admins.hub,
                               params={"action": "admin.login", "actor": "sec-g15-admin"})).json()
    assert logins["items"] and all(e["actor"] == "sec-g15-admin" for e in logins["items"])
    for entry in body["items"]:
        assert "client_secret" not in str(entry["details"])


async def test_successor_updates_and_deletes_the_predecessor_record(
    client: httpx.AsyncClient,
) -> None:
    """Hà Giang (02) was merged into Tuyên Quang (08) on 2025-07-01."""
    hg = {"Authorization": "Bearer test-token-hg-0123456789abcdef"}
    tq = {"Authorization": "Bearer test-token-tq-0123456789abcdef"}
    g16 = {"Authorization": "Bearer test-token-g16-0123456789abcdef"}
    put = await client.put("/v1/products/INH-1", headers=hg,
                           json=sample("products", "INH-1", visibility="private"))
    assert put.status_code == 201, put.text
    updated = await client.put("/v1/products/INH-1", headers=tq,
                               json=sample("products", "INH-1", title="Sửa bởi 08",
                                           visibility="private"))
    assert updated.status_code == 200, updated.text
    assert updated.json()["owner_agency"] == "02" and updated.json()["version"] == 2
    # Another agency with no claim creates its own record instead.
    other = await client.put("/v1/products/INH-1", headers=g16, json=sample("products", "INH-1"))
    assert other.status_code == 201 and other.json()["owner_agency"] == "G16"
    # The successor's own record comes first once it has one.
    own = await client.put("/v1/products/INH-2", headers=tq, json=sample("products", "INH-2"))
    await client.put("/v1/products/INH-2", headers=hg, json=sample("products", "INH-2"))
    again = await client.put("/v1/products/INH-2", headers=tq,
                             json=sample("products", "INH-2", title="Của 08"))
    assert again.json()["id"] == own.json()["id"] and again.json()["owner_agency"] == "08"
    deleted = await client.delete("/v1/products/INH-1", headers=tq)
    assert deleted.status_code == 204
    gone = await client.get("/v1/products/INH-1", headers=hg, params={"agency": "02"})
    assert gone.json()["deleted"] is True
    # A predecessor does not inherit its successor's records, nor a stranger anyone's.
    await client.put("/v1/products/INH-3", headers=tq, json=sample("products", "INH-3"))
    assert_problem(await client.delete("/v1/products/INH-3", headers=hg), 404)
    assert_problem(await client.delete("/v1/products/INH-3", headers=g16), 404)
