"""Batch upserts through REST: the import summary, idempotency and partial acceptance."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub import Hub
from tests.conftest import auth

pytestmark = pytest.mark.anyio


def product(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "source_id": f"P-{i:05d}",
        "kind": "book",
        "title": f"Sách quyền con người số {i}",
        "languages": ["vie"],
        "themes": ["vn_policy_law"],
        **extra,
    }


async def count(client: httpx.AsyncClient, caller: str = "g16") -> int:
    total, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 200, "agency": "G16"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/products", params=params, headers=auth(caller))).json()
        total += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return total


async def test_thousand_records_idempotent_then_unchanged(client: httpx.AsyncClient) -> None:
    body = {"records": [product(i) for i in range(1000)]}
    headers = {**auth("g16"), "Idempotency-Key": "batch-0001"}
    first = await client.post("/v1/products:batch", json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 1000
    retry = await client.post("/v1/products:batch", json=body, headers=headers)
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert await count(client) == 1000

    again = await client.post("/v1/products:batch", json=body, headers=auth("g16"))
    summary = again.json()
    assert (summary["created"], summary["updated"], summary["unchanged"]) == (0, 0, 1000)
    assert await count(client) == 1000


async def test_concurrent_retries_write_once_and_leave_no_facets(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    """Four copies of a batch under one Idempotency-Key at once (a client retrying before
    its first try answered): one writes it, the others give its answer back. On PostgreSQL
    each copy wrote facets for the new records before waiting for the change-feed lock;
    the copies that replay drop theirs."""
    body = {"records": [product(i) for i in range(200)]}
    headers = {**auth("g16"), "Idempotency-Key": "batch-concurrent"}
    answers = await asyncio.gather(*(
        client.post("/v1/products:batch", json=body, headers=headers) for _ in range(4)
    ))
    assert [a.status_code for a in answers] == [200] * 4
    assert all(a.json() == answers[0].json() for a in answers)
    assert answers[0].json()["created"] == 200
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 3
    async with hub.db.session() as session:
        facets = (await session.execute(sa.text(
            "SELECT count(*), count(DISTINCT record_id) FROM record_facets"))).one()
    assert tuple(facets) == (400, 200)  # a language and a theme each, nothing more


async def test_idempotency_key_reused_for_other_body_is_refused(
    client: httpx.AsyncClient,
) -> None:
    headers = {**auth("g16"), "Idempotency-Key": "k-2"}
    await client.post("/v1/products:batch", json={"records": [product(1)]}, headers=headers)
    other = await client.post("/v1/products:batch", json={"records": [product(2)]},
                              headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert "Idempotency-Key" in other.json()["detail_vi"]


async def test_ten_invalid_among_990_valid(client: httpx.AsyncClient) -> None:
    records = [product(i) for i in range(1000)]
    bad = {5: {"title": ""}, 17: {"kind": "not-a-kind"}, 100: {"publication_year": "abc"},
           200: {"themes": ["no_such_theme"]}, 300: {"isbn": "978-0-00-000000-1"},
           400: {"version": 3}, 500: {"languages": ["xx"]}, 600: {"unknown_field": 1},
           700: {"title": 42}, 999: {"published_on": "31/02/2025"}}
    for index, change in bad.items():
        records[index] = {**records[index], **change}
    response = await client.post("/v1/products:batch", json={"records": records},
                                 headers=auth("g16"))
    summary = response.json()
    assert summary["created"] == 990
    assert summary["rejected"] == 10
    assert sorted({r["index"] for r in summary["rejections"]}) == sorted(bad)
    by_index = {r["index"]: r for r in summary["rejections"]}
    assert by_index[400]["path"] == "version"
    assert by_index[200]["path"] == "themes.0"
    assert by_index[200]["code"] == "unknown_code"
    for rejection in summary["rejections"]:
        assert rejection["message_vi"] and rejection["message_en"]
        assert rejection["source_id"] == records[rejection["index"]]["source_id"]
    assert await count(client) == 990


async def test_dry_run_writes_nothing_and_reports(client: httpx.AsyncClient) -> None:
    body = {"records": [product(i) for i in range(3)]}
    dry = await client.post("/v1/products:batch?dryRun=true", json=body, headers=auth("g16"))
    assert dry.json()["created"] == 3 and dry.json()["dry_run"] is True
    assert await count(client) == 0


async def test_update_bumps_version_only_when_content_changes(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/v1/products:batch", json={"records": [product(1)]}, headers=auth("g16"))
    same = await client.post("/v1/products:batch", json={"records": [product(1)]},
                             headers=auth("g16"))
    assert same.json()["unchanged"] == 1
    changed = await client.post(
        "/v1/products:batch", json={"records": [product(1, title="Tên mới")]},
        headers=auth("g16"),
    )
    assert changed.json()["updated"] == 1
    record = (await client.get("/v1/products/P-00001", headers=auth("g16"))).json()
    assert record["version"] == 2
    assert record["data"]["title"] == "Tên mới"


async def test_delete_in_batch_writes_tombstone(client: httpx.AsyncClient) -> None:
    await client.post("/v1/products:batch", json={"records": [product(1), product(2)]},
                      headers=auth("g16"))
    response = await client.post(
        "/v1/products:batch",
        json={"records": [{"source_id": "P-00001", "_op": "delete"},
                          {"source_id": "nope", "_op": "delete"}]},
        headers=auth("g16"),
    )
    summary = response.json()
    assert summary["deleted"] == 1 and summary["rejected"] == 1
    assert summary["rejections"][0]["code"] == "not_found"
    gone = (await client.get("/v1/products/P-00001", headers=auth("g16"))).json()
    assert gone["deleted"] is True and gone["version"] == 2
    assert await count(client) == 1


async def test_text_is_normalised_to_nfc(client: httpx.AsyncClient) -> None:
    decomposed = "Quye\u0302\u0300n con ngu\u031bo\u031b\u0300i"  # NFD "Quyền con người"
    await client.post("/v1/products:batch", json={"records": [product(1, title=decomposed)]},
                      headers=auth("g16"))
    record = (await client.get("/v1/products/P-00001", headers=auth("g16"))).json()
    assert record["data"]["title"] == "Quyền con người"


async def test_batch_over_limit_is_413(client: httpx.AsyncClient) -> None:
    body = {"records": [product(i) for i in range(1001)]}
    response = await client.post("/v1/products:batch", json=body, headers=auth("g16"))
    assert response.status_code == 413
    assert "NDJSON" in response.json()["detail_en"]


async def test_ndjson_stream_ingests_in_chunks(client: httpx.AsyncClient) -> None:
    import orjson

    lines = [orjson.dumps(product(i)) for i in range(2500)]
    lines.insert(10, b"{not json")
    body = b"\n".join(lines) + b"\n"
    response = await client.post(
        "/v1/products:batch", content=body,
        headers={**auth("g16"), "Content-Type": "application/x-ndjson"},
    )
    summary = response.json()
    assert summary["created"] == 2500
    assert summary["rejected"] == 1
    # The 11th line of the body: index and message name the line a person sees (1-based).
    assert summary["rejections"][0]["index"] == 11
    assert "Line 11 " in summary["rejections"][0]["message_en"]
    assert "Dòng 11 " in summary["rejections"][0]["message_vi"]
    assert summary["rejections"][0]["code"] == "invalid_json"
    assert await count(client) == 2500


async def test_ndjson_rejections_name_the_line_with_blank_lines_counted(
    client: httpx.AsyncClient
) -> None:
    import orjson

    bad = {**product(2), "kind": "khong-co"}
    body = b"\n".join([orjson.dumps(product(1)), b"", b"", orjson.dumps(bad), b"{oops"]) + b"\n"
    response = await client.post(
        "/v1/products:batch", content=body,
        headers={**auth("g16"), "Content-Type": "application/x-ndjson"},
    )
    rejections = response.json()["rejections"]
    assert [(r["index"], r["code"]) for r in rejections][-1] == (5, "invalid_json")
    assert rejections[0]["index"] == 4 and rejections[0]["source_id"] == bad["source_id"]
    assert "Line 5 " in rejections[-1]["message_en"]


async def test_ndjson_idempotency_key_replays_same_stream_and_refuses_another(
    client: httpx.AsyncClient,
) -> None:
    import orjson

    def body(n: int) -> bytes:
        return b"\n".join(orjson.dumps(product(i)) for i in range(n)) + b"\n"

    headers = {**auth("g16"), "Content-Type": "application/x-ndjson", "Idempotency-Key": "nd-1"}
    first = await client.post("/v1/products:batch", content=body(1500), headers=headers)
    assert first.json()["created"] == 1500
    retry = await client.post("/v1/products:batch", content=body(1500), headers=headers)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    other = await client.post("/v1/products:batch", content=body(1501), headers=headers)
    assert other.status_code == 422
    assert await count(client) == 1500


async def test_concurrent_sends_of_one_ndjson_stream_give_one_answer(
    client: httpx.AsyncClient,
) -> None:
    """Issue 24 item 6: four sends of the same stream under one key at once, then a retry.
    One runs; the others are told it is in progress (409) or, once it has finished, get its
    answer; the retry gets the stream's whole answer (2,500 created), not a part of it."""
    import orjson

    body = b"\n".join(orjson.dumps(product(i)) for i in range(2500)) + b"\n"
    headers = {**auth("g16"), "Content-Type": "application/x-ndjson",
               "Idempotency-Key": "nd-concurrent"}
    sends = await asyncio.gather(*(
        client.post("/v1/products:batch", content=body, headers=headers) for _ in range(4)))
    statuses = sorted(r.status_code for r in sends)
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 409}, statuses
    for r in sends:
        if r.status_code == 409:
            assert "in progress" in r.json()["detail_en"]
            assert "đang được xử lý" in r.json()["detail_vi"]
        else:
            assert r.json()["created"] == 2500, r.json()
    retry = await client.post("/v1/products:batch", content=body, headers=headers)
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert (retry.json()["created"], retry.json()["unchanged"]) == (2500, 0)
    assert await count(client) == 2500


async def test_a_failed_ndjson_stream_releases_its_key(
    client: httpx.AsyncClient, hub: Hub,
) -> None:
    """A stream that ends in an error leaves no claim behind: the retry runs."""
    import orjson

    from hub import Principal

    principal = Principal("client-g16", "G16", frozenset({"records:write"}))
    assert await hub.ingest.claim(principal, "nd-released")
    assert not await hub.ingest.claim(principal, "nd-released")  # held
    await hub.ingest.release(principal, "nd-released")
    body = b"\n".join(orjson.dumps(product(i)) for i in range(3)) + b"\n"
    headers = {**auth("g16"), "Content-Type": "application/x-ndjson",
               "Idempotency-Key": "nd-released"}
    ok = await client.post("/v1/products:batch", content=body, headers=headers)
    assert ok.status_code == 200 and ok.json()["created"] == 3
