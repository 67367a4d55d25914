"""API1:2023 Broken Object Level Authorization.

Agency G15 owns a private record of every type (and a shared one). Agency G16 then calls
EVERY route of the app — enumerated from the app, so a new route is covered automatically —
with G15's identifiers in every path parameter and ``agency=G15`` / ``owner=G15`` in the
query, and with write bodies naming G15's source ids. Afterwards:

* no response carries G15's private marker (cannot be read through any route);
* every G15 record is exactly as before: same version, hash, not deleted (cannot be written
  or deleted through any route).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import schemas
from tests.conftest import auth
from tests.security.owasp.conftest import (
    SAMPLES,
    AdminTokens,
    Endpoint,
    protected,
    record_type_of,
    sample,
)

pytestmark = pytest.mark.anyio

MARKER = "Bí-mật-G15-7f3a"
PRIVATE = "BOLA-PRIV"
SHARED = "BOLA-SHARED"


def test_samples_cover_every_record_type() -> None:
    assert set(SAMPLES) == set(schemas.RECORD_TYPES)


async def _seed_victim(client: httpx.AsyncClient) -> dict[tuple[str, str], dict[str, Any]]:
    before = {}
    for record_type in schemas.RECORD_TYPES:
        for source_id, visibility in ((PRIVATE, "private"), (SHARED, "shared")):
            title = f"{MARKER} {record_type}" if visibility == "private" else "Chia sẻ"
            response = await client.put(
                f"/v1/{record_type}/{source_id}", headers=auth("g15"),
                json=sample(record_type, source_id, title=title, visibility=visibility),
            )
            assert response.status_code == 201, response.text
            before[(record_type, source_id)] = response.json()
    return before


def _bodies(record_type: str | None) -> list[Any]:
    if record_type is None:
        return [{"agency": "G15", "owner_agency": "G15", "source_id": PRIVATE}]
    put = sample(record_type, PRIVATE, title="ghi đè")
    return [
        put,
        {"records": [sample(record_type, PRIVATE, title="ghi đè"),
                     {"source_id": SHARED, "_op": "delete"},
                     {"source_id": PRIVATE, "_op": "delete"}]},
    ]


async def _attack(client: httpx.AsyncClient, endpoint: Endpoint,
                  headers: dict[str, str], *, undeclared: bool = True) -> list[httpx.Response]:
    """The endpoint called for G15's records; with ``undeclared`` also with parameters no
    route declares (``owner``...), which are refused with 400 before anything is read."""
    responses = []
    query = {"agency": "G15", "include_deleted": "true"}
    if undeclared:
        query.update(owner="G15", owner_agency="G15")
    for source_id in (PRIVATE, SHARED):
        url = endpoint.url(source_id=source_id, code="G15", client_id="client-g15",
                           username="sec-g15-admin", key_id="0" * 16, name="themes")
        if endpoint.method in ("GET", "DELETE"):
            responses.append(await client.request(endpoint.method, url, params=query,
                                                  headers=headers))
            continue
        for body in _bodies(record_type_of(endpoint)):
            responses.append(await client.request(endpoint.method, url, params=query,
                                                  json=body, headers=headers))
    return responses


async def _assert_untouched(client: httpx.AsyncClient,
                            before: dict[tuple[str, str], dict[str, Any]]) -> None:
    for (record_type, source_id), was in before.items():
        now = await client.get(f"/v1/{record_type}/{source_id}", headers=auth("g15"))
        assert now.status_code == 200, (record_type, source_id, now.text)
        body = now.json()
        for key in ("id", "owner_agency", "version", "content_hash", "deleted", "data"):
            assert body[key] == was[key], (record_type, source_id, key)


@pytest.mark.parametrize("caller", ["g16", "tq", "reader"])
async def test_no_route_reads_or_changes_another_agencys_records(
    client: httpx.AsyncClient, caller: str
) -> None:
    before = await _seed_victim(client)
    app = client._transport.app  # type: ignore[attr-defined]
    checked = 0
    for endpoint in protected(app):
        for response in await _attack(client, endpoint, auth(caller)):
            checked += 1
            assert MARKER not in response.text, f"{endpoint} leaked a private record"
            assert response.status_code < 500, f"{endpoint}: {response.text}"
    assert checked > 20
    await _assert_untouched(client, before)


async def test_admin_tokens_reach_no_record_of_any_agency(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    """Admin sessions carry admin scopes only: records are not theirs to read or write."""
    before = await _seed_victim(client)
    app = client._transport.app  # type: ignore[attr-defined]
    for endpoint in protected(app):
        if endpoint.path.startswith("/v1/admin"):
            continue
        for token in (admins.g16, admins.hub):
            for response in await _attack(client, endpoint, token):
                assert MARKER not in response.text, f"{endpoint} leaked a private record"
                assert response.status_code in (400, 403), f"{endpoint}: {response.status_code}"
            # With only the parameters routes declare, the scope check is what refuses.
            for response in await _attack(client, endpoint, token, undeclared=False):
                assert MARKER not in response.text, f"{endpoint} leaked a private record"
                if response.status_code == 400:  # a route without agency/include_deleted
                    assert response.json().get("unknown_parameters"), response.text
                    stripped = await client.request(endpoint.method, str(
                        response.request.url.copy_with(query=None)), headers=token,
                        content=response.request.content,
                        params=None)
                    assert stripped.status_code == 403, f"{endpoint}: {stripped.text}"
                else:
                    assert response.status_code == 403, f"{endpoint}: {response.status_code}"
    await _assert_untouched(client, before)


async def test_private_record_is_404_not_403_for_others(client: httpx.AsyncClient) -> None:
    await _seed_victim(client)
    response = await client.get(f"/v1/products/{PRIVATE}", params={"agency": "G15"},
                                headers=auth("g16"))
    assert response.status_code == 404
    shared = await client.get(f"/v1/products/{SHARED}", params={"agency": "G15"},
                              headers=auth("g16"))
    assert shared.status_code == 200  # shared records are readable, not writable


async def test_the_change_feed_does_not_carry_private_records_of_others(
    client: httpx.AsyncClient,
) -> None:
    await _seed_victim(client)
    feed = await client.get("/v1/changes", params={"limit": 1000}, headers=auth("g16"))
    assert feed.status_code == 200
    assert MARKER not in feed.text


async def test_admin_objects_of_another_agency_are_invisible(
    client: httpx.AsyncClient, admins: AdminTokens
) -> None:
    created = await client.post("/v1/admin/clients", headers=admins.g15,
                                json={"agency": "G15", "name": "G15 system"})
    client_id = created.json()["client_id"]
    key = await client.post("/v1/admin/api-keys", headers=admins.g15,
                            json={"client_id": client_id, "name": "k"})
    key_id = key.json()["key_id"]
    for method, url, body in (
        ("GET", f"/v1/admin/clients/{client_id}", None),
        ("PATCH", f"/v1/admin/clients/{client_id}", {"active": False}),
        ("DELETE", f"/v1/admin/clients/{client_id}", None),
        ("POST", f"/v1/admin/clients/{client_id}/secret", None),
        ("POST", f"/v1/admin/api-keys/{key_id}/rotate", None),
        ("POST", f"/v1/admin/api-keys/{key_id}/revoke", None),
        ("POST", "/v1/admin/api-keys", {"client_id": client_id, "name": "steal"}),
        ("GET", "/v1/admin/users/sec-g15-admin", None),
        ("PATCH", "/v1/admin/users/sec-g15-admin", {"active": False}),
        ("POST", "/v1/admin/users/sec-g15-admin/password", {"password": "x" * 20}),
    ):
        response = await client.request(method, url, json=body, headers=admins.g16)
        assert response.status_code in (403, 404), (method, url, response.status_code)
    still = await client.get(f"/v1/admin/clients/{client_id}", headers=admins.g15)
    assert still.json()["active"] is True
    keys = await client.get("/v1/admin/api-keys", headers=admins.g16)
    assert key_id not in keys.text
