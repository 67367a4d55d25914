"""Single-record REST: PUT (create/replace, If-Match), GET (ETag, If-None-Match), DELETE."""

from __future__ import annotations

import httpx
import pytest

import schemas
from tests.api._helpers import assert_problem, list_all, product, source_ids
from tests.conftest import auth

pytestmark = pytest.mark.anyio


async def test_put_creates_201_then_replaces_200(client: httpx.AsyncClient) -> None:
    created = await client.put("/v1/products/BOOK-1", json=product("BOOK-1"), headers=auth("g16"))
    assert created.status_code == 201, created.text
    etag = created.headers["ETag"]
    assert etag.startswith('"1-') and etag.endswith('"')
    body = schemas.RecordEnvelope.model_validate(created.json())
    assert (body.version, body.owner_agency, body.source_id) == (1, "G16", "BOOK-1")
    assert body.provenance.channel == "push" and body.provenance.client == "client-g16"

    replaced = await client.put(
        "/v1/products/BOOK-1", json=product("BOOK-1", title="Tên mới"), headers=auth("g16")
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["version"] == 2
    assert replaced.json()["data"]["title"] == "Tên mới"
    assert replaced.json()["id"] == created.json()["id"]
    assert replaced.headers["ETag"] != etag
    assert replaced.headers["ETag"].startswith('"2-')

    # The same content again: 200, nothing bumped, same ETag.
    same = await client.put(
        "/v1/products/BOOK-1", json=product("BOOK-1", title="Tên mới"), headers=auth("g16")
    )
    assert same.status_code == 200
    assert same.json()["version"] == 2
    assert same.headers["ETag"] == replaced.headers["ETag"]


async def test_put_without_source_id_in_body_takes_the_path(client: httpx.AsyncClient) -> None:
    body = product("X")
    del body["source_id"]
    response = await client.put("/v1/products/FROM-PATH", json=body, headers=auth("g16"))
    assert response.status_code == 201, response.text
    assert response.json()["source_id"] == "FROM-PATH"


async def test_if_match_current_etag_succeeds_stale_gets_412(client: httpx.AsyncClient) -> None:
    first = await client.put("/v1/products/B-2", json=product("B-2"), headers=auth("g16"))
    etag1 = first.headers["ETag"]
    second = await client.put(
        "/v1/products/B-2", json=product("B-2", title="Lần hai"),
        headers={**auth("g16"), "If-Match": etag1},
    )
    assert second.status_code == 200, second.text
    etag2 = second.headers["ETag"]

    stale = await client.put(
        "/v1/products/B-2", json=product("B-2", title="Lần ba"),
        headers={**auth("g16"), "If-Match": etag1},
    )
    assert_problem(stale, 412)
    current = (await client.get("/v1/products/B-2", headers=auth("g16"))).json()
    assert current["data"]["title"] == "Lần hai" and current["version"] == 2

    stale_delete = await client.delete(
        "/v1/products/B-2", headers={**auth("g16"), "If-Match": etag1}
    )
    assert_problem(stale_delete, 412)
    ok_delete = await client.delete(
        "/v1/products/B-2", headers={**auth("g16"), "If-Match": etag2}
    )
    assert ok_delete.status_code == 204


async def test_if_match_star(client: httpx.AsyncClient) -> None:
    missing = await client.put(
        "/v1/products/NEW-1", json=product("NEW-1"), headers={**auth("g16"), "If-Match": "*"}
    )
    assert_problem(missing, 412)
    assert (await client.get("/v1/products/NEW-1", headers=auth("g16"))).status_code == 404

    await client.put("/v1/products/NEW-1", json=product("NEW-1"), headers=auth("g16"))
    present = await client.put(
        "/v1/products/NEW-1", json=product("NEW-1", title="Đổi"),
        headers={**auth("g16"), "If-Match": "*"},
    )
    assert present.status_code == 200, present.text
    assert present.json()["version"] == 2


async def test_body_source_id_differing_from_path_is_400(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/products/A-1", json=product("B-1"), headers=auth("g16"))
    body = assert_problem(response, 400)
    assert "source_id" in body["detail_en"]
    assert (await client.get("/v1/products/A-1", headers=auth("g16"))).status_code == 404
    assert (await client.get("/v1/products/B-1", headers=auth("g16"))).status_code == 404


async def test_put_invalid_record_is_422_with_errors(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/v1/products/BAD-1", json=product("BAD-1", themes=["no_such_theme"]),
        headers=auth("g16"),
    )
    body = assert_problem(response, 422)
    assert [e["path"] for e in body["errors"]] == ["themes.0"]
    assert (await client.get("/v1/products/BAD-1", headers=auth("g16"))).status_code == 404


async def test_put_with_op_is_400(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/v1/products/OP-1", json={**product("OP-1"), "_op": "delete"}, headers=auth("g16")
    )
    assert_problem(response, 400)


async def test_get_etag_and_if_none_match_304(client: httpx.AsyncClient) -> None:
    put = await client.put("/v1/products/C-1", json=product("C-1"), headers=auth("g16"))
    got = await client.get("/v1/products/C-1", headers=auth("g16"))
    assert got.status_code == 200
    assert got.headers["ETag"] == put.headers["ETag"]
    assert got.headers["content-type"].startswith("application/json")

    cached = await client.get(
        "/v1/products/C-1", headers={**auth("g16"), "If-None-Match": got.headers["ETag"]}
    )
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["ETag"] == got.headers["ETag"]

    listed = await client.get(
        "/v1/products/C-1",
        headers={**auth("g16"), "If-None-Match": f'"9-nope", {got.headers["ETag"]}'},
    )
    assert listed.status_code == 304

    other = await client.get(
        "/v1/products/C-1", headers={**auth("g16"), "If-None-Match": '"1-other"'}
    )
    assert other.status_code == 200

    await client.put("/v1/products/C-1", json=product("C-1", title="Mới"), headers=auth("g16"))
    changed = await client.get(
        "/v1/products/C-1", headers={**auth("g16"), "If-None-Match": got.headers["ETag"]}
    )
    assert changed.status_code == 200
    assert changed.json()["data"]["title"] == "Mới"


async def test_delete_writes_tombstone(client: httpx.AsyncClient) -> None:
    await client.put("/v1/products/D-1", json=product("D-1"), headers=auth("g16"))
    await client.put("/v1/products/D-2", json=product("D-2"), headers=auth("g16"))
    before = (await client.get("/v1/products/D-1", headers=auth("g16"))).json()

    deleted = await client.delete("/v1/products/D-1", headers=auth("g16"))
    assert deleted.status_code == 204
    assert deleted.content == b""

    tomb = await client.get("/v1/products/D-1", headers=auth("g16"))
    assert tomb.status_code == 200
    body = tomb.json()
    assert body["deleted"] is True
    assert body["version"] == before["version"] + 1
    assert body["id"] == before["id"]
    assert body["data"] == {}
    assert tomb.headers["ETag"] != (await client.get("/v1/products/D-2",
                                                     headers=auth("g16"))).headers["ETag"]

    assert await source_ids(client, "g16", "products") == ["D-2"]
    with_deleted = await list_all(client, "g16", "products", include_deleted="true")
    assert {i["source_id"]: i["deleted"] for i in with_deleted} == {"D-1": True, "D-2": False}

    # Deleting a tombstone again changes nothing.
    again = await client.delete("/v1/products/D-1", headers=auth("g16"))
    assert again.status_code == 204
    assert (await client.get("/v1/products/D-1", headers=auth("g16"))).json()["version"] == (
        body["version"]
    )

    # A PUT after a delete revives the record with a higher version.
    revived = await client.put("/v1/products/D-1", json=product("D-1"), headers=auth("g16"))
    assert revived.status_code == 200
    assert revived.json()["deleted"] is False
    assert revived.json()["version"] == body["version"] + 1


async def test_delete_of_missing_record_is_404(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/products/NOPE", headers=auth("g16"))
    assert_problem(response, 404)


async def test_get_of_missing_record_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/events/NOPE", headers=auth("g16"))
    body = assert_problem(response, 404)
    assert body["type"] == "urn:rightshub:problem:not-found"


async def test_source_id_with_slash_round_trips(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/v1/products/2025/SACH-7", json=product("2025/SACH-7"), headers=auth("g16")
    )
    assert response.status_code == 201, response.text
    got = await client.get("/v1/products/2025/SACH-7", headers=auth("g16"))
    assert got.json()["source_id"] == "2025/SACH-7"
    assert (await client.delete("/v1/products/2025/SACH-7", headers=auth("g16"))).status_code == 204


async def test_source_id_in_nfd_is_the_same_record(client: httpx.AsyncClient) -> None:
    nfd, nfc = "Quye\u0302\u0300n-1", "Quy\u1ec1n-1"
    body = product("x")
    del body["source_id"]
    created = await client.put(f"/v1/products/{nfd}", json=body, headers=auth("g16"))
    assert created.status_code == 201, created.text
    assert created.json()["source_id"] == nfc
    for path_id in (nfd, nfc):
        got = await client.get(f"/v1/products/{path_id}", headers=auth("g16"))
        assert got.status_code == 200, path_id
        assert got.json()["id"] == created.json()["id"]
    same = await client.put(f"/v1/products/{nfc}", json={**body, "source_id": nfd},
                            headers=auth("g16"))
    assert same.status_code == 200, same.text
    assert same.json()["version"] == 1
    assert (await client.delete(f"/v1/products/{nfd}", headers=auth("g16"))).status_code == 204
    assert (await client.get(f"/v1/products/{nfc}", headers=auth("g16"))).json()["deleted"]
