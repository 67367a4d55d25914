"""Visibility (private / shared / public), tenancy (an agency writes only its own records),
scopes and authentication."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api._helpers import (
    assert_batch_rejected,
    assert_problem,
    list_all,
    product,
    push,
    source_ids,
)
from tests.conftest import auth, token

pytestmark = pytest.mark.anyio


async def _changes(client: httpx.AsyncClient, caller: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/changes", params={"after": "0", "limit": 1000},
                                headers=auth(caller))
    assert response.status_code == 200, response.text
    return response.json()["changes"]


async def _seed(client: httpx.AsyncClient) -> None:
    await push(client, "g15", "products", [
        product("PRIV", visibility="private"),
        product("SHARED", visibility="shared"),
        product("PUB", visibility="public"),
        product("DEFAULT"),
    ])


async def test_private_record_invisible_to_other_agencies(client: httpx.AsyncClient) -> None:
    await _seed(client)
    for caller in ("g16", "tq", "reader"):
        assert set(await source_ids(client, caller, "products")) == {
            "SHARED", "PUB", "DEFAULT"
        }, caller
        got = await client.get("/v1/products/PRIV", params={"agency": "G15"},
                               headers=auth(caller))
        assert_problem(got, 404)
        feed = await _changes(client, caller)
        assert {c["record"]["source_id"] for c in feed} == {"SHARED", "PUB", "DEFAULT"}
        # Not even through a filter, a search or include_deleted.
        assert "PRIV" not in await source_ids(client, caller, "products", agency="G15",
                                              q="sach", include_deleted="true")

    assert set(await source_ids(client, "g15", "products")) == {
        "PRIV", "SHARED", "PUB", "DEFAULT"
    }
    own = await client.get("/v1/products/PRIV", headers=auth("g15"))
    assert own.status_code == 200 and own.json()["visibility"] == "private"
    assert {c["record"]["source_id"] for c in await _changes(client, "g15")} == {
        "PRIV", "SHARED", "PUB", "DEFAULT"
    }


async def test_shared_and_public_visible_to_all(client: httpx.AsyncClient) -> None:
    await _seed(client)
    for caller in ("g16", "tq", "hg", "reader"):
        for source_id, visibility in (("SHARED", "shared"), ("PUB", "public"),
                                      ("DEFAULT", "shared")):
            got = await client.get(f"/v1/products/{source_id}", params={"agency": "G15"},
                                   headers=auth(caller))
            assert got.status_code == 200, (caller, got.text)
            assert got.json()["visibility"] == visibility
            assert got.json()["owner_agency"] == "G15"


async def test_tombstone_of_private_record_stays_private(client: httpx.AsyncClient) -> None:
    await _seed(client)
    assert (await client.delete("/v1/products/PRIV", headers=auth("g15"))).status_code == 204
    feed = await _changes(client, "g16")
    assert "PRIV" not in {c["record"]["source_id"] for c in feed}
    own = await _changes(client, "g15")
    assert [c["op"] for c in own if c["record"]["source_id"] == "PRIV"] == ["upsert", "delete"]


async def test_making_a_record_private_hides_it(client: httpx.AsyncClient) -> None:
    await push(client, "g15", "products", [product("TURN")])
    assert await source_ids(client, "g16", "products") == ["TURN"]
    await push(client, "g15", "products", [product("TURN", visibility="private")])
    assert await source_ids(client, "g16", "products") == []
    got = await client.get("/v1/products/TURN", params={"agency": "G15"}, headers=auth("g16"))
    assert_problem(got, 404)


async def test_successor_sees_private_records_of_predecessor(client: httpx.AsyncClient) -> None:
    await push(client, "hg", "products", [product("HG-PRIV", visibility="private")])
    assert await source_ids(client, "tq", "products") == ["HG-PRIV"]
    got = await client.get("/v1/products/HG-PRIV", params={"agency": "02"}, headers=auth("tq"))
    assert got.status_code == 200 and got.json()["owner_agency"] == "02"
    assert "HG-PRIV" in {c["record"]["source_id"] for c in await _changes(client, "tq")}
    # ...but not the other way round, and not another agency.
    await push(client, "tq", "products", [product("TQ-PRIV", visibility="private")])
    assert await source_ids(client, "hg", "products") == ["HG-PRIV"]
    assert await source_ids(client, "g16", "products") == []


async def test_other_agency_cannot_change_or_delete(client: httpx.AsyncClient) -> None:
    await push(client, "g15", "products", [product("OWN-1", title="Của G15")])
    before = (await client.get("/v1/products/OWN-1", params={"agency": "G15"},
                               headers=auth("g15"))).json()

    put = await client.put("/v1/products/OWN-1", json=product("OWN-1", title="Của G16"),
                           headers=auth("g16"))
    assert put.status_code == 201, put.text
    assert put.json()["owner_agency"] == "G16"
    assert put.json()["id"] != before["id"]

    after = (await client.get("/v1/products/OWN-1", params={"agency": "G15"},
                              headers=auth("g15"))).json()
    assert after == before
    both = await list_all(client, "g16", "products")
    assert {(i["owner_agency"], i["data"]["title"]) for i in both} == {
        ("G15", "Của G15"), ("G16", "Của G16")
    }


async def test_delete_item_for_another_agencys_record_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    await push(client, "g15", "products", [product("ONLY-G15")])
    response = await client.post(
        "/v1/products:batch", json={"records": [{"source_id": "ONLY-G15", "_op": "delete"}]},
        headers=auth("g16"),
    )
    summary = assert_batch_rejected(response)
    assert summary["deleted"] == 0 and summary["rejected"] == 1
    assert summary["rejections"][0]["code"] == "not_found"
    single = await client.delete("/v1/products/ONLY-G15", headers=auth("g16"))
    assert_problem(single, 404)
    still = await client.get("/v1/products/ONLY-G15", params={"agency": "G15"},
                             headers=auth("g15"))
    assert still.json()["deleted"] is False and still.json()["version"] == 1


async def test_if_match_of_other_agencys_record_does_not_apply(
    client: httpx.AsyncClient,
) -> None:
    theirs = await client.put("/v1/products/IM-1", json=product("IM-1"), headers=auth("g15"))
    response = await client.put(
        "/v1/products/IM-1", json=product("IM-1", title="Chiếm"),
        headers={**auth("g16"), "If-Match": theirs.headers["ETag"]},
    )
    assert_problem(response, 412)
    got = await client.get("/v1/products/IM-1", params={"agency": "G15"}, headers=auth("g15"))
    assert got.json()["version"] == 1


async def test_successor_inherits_predecessors_records(client: httpx.AsyncClient) -> None:
    """Issue 3 policy (auth._policy): a successor (08 Tuyên Quang) writes and deletes the
    records of an agency it replaced (02 Hà Giang) when it has none of its own with that
    source_id; the record keeps its owner. The reverse is refused."""
    await push(client, "hg", "products", [product("HG-1")])
    response = await client.delete("/v1/products/HG-1", headers=auth("tq"))
    assert response.status_code == 204
    got = await client.get("/v1/products/HG-1", params={"agency": "02"}, headers=auth("tq"))
    assert got.json()["deleted"] is True and got.json()["owner_agency"] == "02"
    await push(client, "tq", "products", [product("TQ-1")])
    assert_problem(await client.delete("/v1/products/TQ-1", headers=auth("hg")), 404)


async def test_successor_updates_its_own_record_before_a_predecessors(
    client: httpx.AsyncClient,
) -> None:
    """A source_id both agencies hold: the successor's batch updates its own record and
    leaves the predecessor's alone; one only the predecessor holds is updated in place and
    keeps its owner. Both answered by the one look-up of the batch's keys."""
    # The successor's record first: afterwards its batch would update the predecessor's.
    await push(client, "tq", "products", [product("BOTH-1")])
    await push(client, "hg", "products", [product("BOTH-1"), product("HG-ONLY")])
    summary = await push(client, "tq", "products", [
        product("BOTH-1", title="Sách mới"), product("HG-ONLY", title="Sách mới"),
    ])
    assert (summary["created"], summary["updated"]) == (0, 2)

    async def get(source_id: str, agency: str) -> dict[str, Any]:
        got = await client.get(f"/v1/products/{source_id}", params={"agency": agency},
                               headers=auth("tq"))
        assert got.status_code == 200, got.text
        return dict(got.json())

    own, theirs = await get("BOTH-1", "08"), await get("BOTH-1", "02")
    assert (own["version"], own["data"]["title"]) == (2, "Sách mới")
    assert (theirs["version"], theirs["data"]["title"]) == (1, "Sách BOTH-1")
    inherited = await get("HG-ONLY", "02")
    assert (inherited["version"], inherited["data"]["title"], inherited["owner_agency"]) == (
        2, "Sách mới", "02"
    )


async def test_read_only_caller_gets_403_on_writes(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product("RO-1")])
    attempts = [
        client.post("/v1/products:batch", json={"records": [product("RO-2")]},
                    headers=auth("reader")),
        client.post("/v1/products:batch", content=b'{"source_id": "RO-3"}\n',
                    headers={**auth("reader"), "Content-Type": "application/x-ndjson"}),
        client.put("/v1/products/RO-1", json=product("RO-1", title="x"), headers=auth("reader")),
        client.delete("/v1/products/RO-1", headers=auth("reader")),
    ]
    for attempt in attempts:
        body = assert_problem(await attempt, 403)
        assert body["required_scope"] == "records:write"
    assert await source_ids(client, "reader", "products") == ["RO-1"]
    got = await client.get("/v1/products/RO-1", params={"agency": "G16"},
                           headers=auth("reader"))
    assert got.status_code == 200 and got.json()["version"] == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-known-token-0000"},
        {"Authorization": f"Basic {token('g16')}"},
        {"Authorization": token("g16")},
        {"Authorization": f"Bearer {token('g16')}x"},
    ],
)
async def test_missing_or_unknown_credentials_get_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for method, url, kwargs in (
        ("GET", "/v1/products", {}),
        ("GET", "/v1/products/A", {}),
        ("PUT", "/v1/products/A", {"json": product("A")}),
        ("DELETE", "/v1/products/A", {}),
        ("POST", "/v1/products:batch", {"json": {"records": [product("A")]}}),
        ("GET", "/v1/changes", {}),
        ("GET", "/v1/agencies", {}),
        ("GET", "/v1/vocabularies", {}),
    ):
        response = await client.request(method, url, headers=headers, **kwargs)
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, url)
    assert await source_ids(client, "g16", "products") == []


async def test_bearer_scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/products", headers={"Authorization": f"bearer {token('g16')}"})
    assert response.status_code == 200


async def test_record_made_private_is_withdrawn_from_other_agencies_feed(
    client: httpx.AsyncClient,
) -> None:
    shared = {"source_id": "W-1", "kind": "book", "title": "Sách chia sẻ", "visibility": "shared"}
    await client.post("/v1/products:batch", json={"records": [shared]}, headers=auth("g15"))
    first = (await client.get("/v1/changes?after=0", headers=auth("g16"))).json()
    assert [c["op"] for c in first["changes"]] == ["upsert"]
    await client.post("/v1/products:batch",
                      json={"records": [{**shared, "visibility": "private"}]},
                      headers=auth("g15"))
    later = (await client.get(f"/v1/changes?after={first['next_cursor']}",
                              headers=auth("g16"))).json()
    assert [c["op"] for c in later["changes"]] == ["withdraw"]
    withdrawn = later["changes"][0]["record"]
    assert withdrawn["id"] == first["changes"][0]["record"]["id"]
    assert withdrawn["data"] == {} and withdrawn["content_hash"] == ""
    owner_view = (await client.get(f"/v1/changes?after={first['next_cursor']}",
                                   headers=auth("g15"))).json()
    assert [c["op"] for c in owner_view["changes"]] == ["upsert"]
    assert owner_view["changes"][0]["record"]["visibility"] == "private"
