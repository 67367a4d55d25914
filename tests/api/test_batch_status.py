"""Batch answers that tell the outcome (issue 18): 200 "ok" or "partial" when something was
taken, 422 (an RFC 9457 problem carrying the summary) when records were rejected and nothing
taken; ``atomic=true`` writes all or nothing; replays answer the same; NDJSON alike."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.api._helpers import assert_batch_rejected, assert_problem, product, push
from tests.conftest import auth
from tests.graphql._helpers import data

pytestmark = pytest.mark.anyio

BAD = {"source_id": "BAD-1", "kind": "book"}  # no title
NDJSON = {**auth("g16"), "Content-Type": "application/x-ndjson"}


async def _post(client: httpx.AsyncClient, records: list[Any], query: str = "",
                **headers: str) -> httpx.Response:
    return await client.post(f"/v1/products:batch{query}", json={"records": records},
                             headers={**auth("g16"), **headers})


async def _titles(client: httpx.AsyncClient) -> set[str]:
    page = (await client.get("/v1/products", params={"agency": "G16"},
                             headers=auth("g16"))).json()
    return {item["source_id"] for item in page["items"]}


def _ndjson(records: list[Any]) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in records)


async def test_every_record_rejected_answers_422_with_the_summary(
    client: httpx.AsyncClient,
) -> None:
    response = await _post(client, [BAD])
    summary = assert_batch_rejected(response)
    body = response.json()
    assert body["title_vi"] == "Lô dữ liệu bị từ chối" and body["title"] == body["title_vi"]
    assert "Mọi bản ghi" in body["detail_vi"] and "Every record" in body["detail_en"]
    assert summary["rejected"] == 1 and summary["ignored"] == 0
    assert summary["rejections"][0]["path"] == "title"
    english = await _post(client, [BAD], **{"Accept-Language": "en"})
    assert assert_problem(english, 422)["title"] == "Batch rejected"
    assert await _titles(client) == set()


async def test_partly_written_is_200_partial_and_all_taken_is_ok(
    client: httpx.AsyncClient,
) -> None:
    partial = await _post(client, [product("OK-1"), BAD])
    assert partial.status_code == 200, partial.text
    assert partial.json()["status"] == "partial"
    assert (partial.json()["created"], partial.json()["rejected"]) == (1, 1)
    ok = await _post(client, [product("OK-2")])
    assert ok.status_code == 200 and ok.json()["status"] == "ok"


async def test_a_repush_of_unchanged_records_is_success_not_422(
    client: httpx.AsyncClient,
) -> None:
    await push(client, "g16", "products", [product("SAME-1")])
    again = await _post(client, [product("SAME-1")])
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "ok" and again.json()["unchanged"] == 1
    # Unchanged records were taken: with a rejection beside them the batch is partial.
    mixed = await _post(client, [product("SAME-1"), BAD])
    assert mixed.status_code == 200, mixed.text
    assert mixed.json()["status"] == "partial"


async def test_atomic_writes_all_or_nothing(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product("KEEP-1")])
    response = await _post(
        client,
        [product("NEW-1"), {**product("KEEP-1"), "title": "changed"}, BAD],
        "?atomic=true",
    )
    summary = assert_batch_rejected(response)
    assert summary["ignored"] == 2 and summary["rejected"] == 1, summary
    assert "atomic=true" in response.json()["detail_en"]
    assert await _titles(client) == {"KEEP-1"}
    kept = (await client.get("/v1/products/KEEP-1", headers=auth("g16"))).json()
    assert kept["version"] == 1 and kept["data"]["title"] == product("KEEP-1")["title"]

    # A delete of a record that does not exist is a rejection too: the other delete waits.
    deletes = await _post(client, [{"source_id": "KEEP-1", "_op": "delete"},
                                   {"source_id": "NONE", "_op": "delete"}], "?atomic=true")
    assert assert_batch_rejected(deletes)["rejections"][0]["code"] == "not_found"
    assert await _titles(client) == {"KEEP-1"}

    clean = await _post(client, [product("NEW-1"), product("NEW-2")], "?atomic=true")
    assert clean.status_code == 200, clean.text
    assert clean.json()["status"] == "ok" and clean.json()["created"] == 2
    assert await _titles(client) == {"KEEP-1", "NEW-1", "NEW-2"}


async def test_dry_run_answers_as_the_batch_would(client: httpx.AsyncClient) -> None:
    assert_batch_rejected(await _post(client, [BAD], "?dryRun=true"))
    atomic = await _post(client, [product("D-1"), BAD], "?dryRun=true&atomic=true")
    summary = assert_batch_rejected(atomic)
    assert summary["dry_run"] is True and summary["ignored"] == 1
    partial = await _post(client, [product("D-1"), BAD], "?dryRun=true")
    assert partial.status_code == 200 and partial.json()["status"] == "partial"
    assert await _titles(client) == set()


async def test_atomic_is_a_declared_boolean(client: httpx.AsyncClient) -> None:
    wrong = await _post(client, [product("Q-1")], "?atomic=maybe")
    assert_problem(wrong, 400)
    misspelt = await _post(client, [product("Q-1")], "?atomik=true")
    assert "atomic" in assert_problem(misspelt, 400)["allowed_parameters"]


async def test_idempotency_replays_the_same_status(client: httpx.AsyncClient) -> None:
    first = await _post(client, [BAD], **{"Idempotency-Key": "rej-1"})
    assert_batch_rejected(first)
    replay = await _post(client, [BAD], **{"Idempotency-Key": "rej-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert assert_batch_rejected(replay) == first.json()["summary"]

    partial = await _post(client, [product("I-1"), BAD], **{"Idempotency-Key": "part-1"})
    again = await _post(client, [product("I-1"), BAD], **{"Idempotency-Key": "part-1"})
    assert (again.status_code, again.json()) == (200, partial.json())
    assert again.json()["status"] == "partial" and again.headers["Idempotent-Replayed"] == "true"

    # The same body made atomic is another request: the key is refused, nothing replayed.
    other = await _post(client, [product("I-1"), BAD], "?atomic=true",
                        **{"Idempotency-Key": "part-1"})
    assert assert_problem(other, 422)["type"].endswith("idempotency-key-reused")
    atomic = await _post(client, [product("I-2"), BAD], "?atomic=true",
                         **{"Idempotency-Key": "atom-1"})
    atomic_again = await _post(client, [product("I-2"), BAD], "?atomic=true",
                               **{"Idempotency-Key": "atom-1"})
    assert assert_batch_rejected(atomic_again) == assert_batch_rejected(atomic)
    assert await _titles(client) == {"I-1"}


async def test_ndjson_follows_the_same_rule(client: httpx.AsyncClient) -> None:
    rejected = await client.post("/v1/products:batch", content=_ndjson([BAD, BAD]) + b"\n{",
                                 headers=NDJSON)
    summary = assert_batch_rejected(rejected)
    assert [r["index"] for r in summary["rejections"]] == [1, 2, 3]
    partial = await client.post("/v1/products:batch",
                                content=_ndjson([product("N-1"), BAD]), headers=NDJSON)
    assert partial.status_code == 200 and partial.json()["status"] == "partial"
    ok = await client.post("/v1/products:batch", content=_ndjson([product("N-1")]),
                           headers=NDJSON)
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    atomic = await client.post("/v1/products:batch?atomic=true",
                               content=_ndjson([product("N-2")]), headers=NDJSON)
    assert "atomic" in assert_problem(atomic, 400)["detail_en"]
    assert await _titles(client) == {"N-1"}

    keyed = {**NDJSON, "Idempotency-Key": "nd-rej"}
    first = await client.post("/v1/products:batch", content=_ndjson([BAD]), headers=keyed)
    replay = await client.post("/v1/products:batch", content=_ndjson([BAD]), headers=keyed)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert assert_batch_rejected(replay) == assert_batch_rejected(first)


async def test_graphql_batches_report_the_status_and_take_atomic(
    client: httpx.AsyncClient,
) -> None:
    mutation = """mutation($records: [ProductInput!]!, $atomic: Boolean! = false) {
      upsertProducts(records: $records, atomic: $atomic) {
        status created rejected ignored } }"""
    good = {"sourceId": "G-1", "kind": "book", "title": "Sách"}
    bad = {"sourceId": "G-2", "kind": "no-such-kind", "title": "Sách"}
    atomic = await data(client, mutation, {"records": [good, bad], "atomic": True})
    assert atomic["upsertProducts"] == {"status": "rejected", "created": 0, "rejected": 1,
                                        "ignored": 1}
    partial = await data(client, mutation, {"records": [good, bad]})
    assert partial["upsertProducts"] == {"status": "partial", "created": 1, "rejected": 1,
                                         "ignored": 0}
    assert await _titles(client) == {"G-1"}
