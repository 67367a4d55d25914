"""Standard v1.1 over REST and GraphQL (SQLite and PostgreSQL): cost_vnd on products,
trainings and events; source_updated_at pushed with an item and served in the provenance;
1.0 documents (neither field) still valid."""

from __future__ import annotations

import httpx
import pytest

import schemas
from tests.api._helpers import assert_batch_rejected, course, event, product, push
from tests.conftest import auth
from tests.graphql._helpers import data

pytestmark = pytest.mark.anyio

STAMP = "2025-03-01T10:15:00+07:00"


async def test_cost_and_source_time_round_trip_rest_and_graphql(
    client: httpx.AsyncClient,
) -> None:
    await push(client, "g16", "products", [
        product("V11-P", cost_vnd=1_250_000, funding_source="state_budget",
                source_updated_at=STAMP),
        product("V10-P"),  # a 1.0 document
    ])
    await push(client, "g16", "training-courses", [course("V11-T", cost_vnd=0)])
    await push(client, "g16", "events", [event("V11-E", cost_vnd=30_000_000,
                                               source_updated_at="2025-03-01T03:15:00Z")])

    got = (await client.get("/v1/products/V11-P", headers=auth("g16"))).json()
    envelope = schemas.RecordEnvelope.model_validate(got)
    assert got["data"]["cost_vnd"] == 1_250_000
    assert "source_updated_at" not in got["data"]  # provenance, not content
    assert envelope.provenance.source_updated_at is not None
    assert envelope.provenance.source_updated_at.isoformat() == STAMP
    plain = (await client.get("/v1/products/V10-P", headers=auth("g16"))).json()
    assert "cost_vnd" in plain["data"] and plain["data"]["cost_vnd"] is None
    assert plain["provenance"].get("source_updated_at") is None
    event_back = (await client.get("/v1/events/V11-E", headers=auth("g16"))).json()
    assert event_back["provenance"]["source_updated_at"] == "2025-03-01T03:15:00+00:00"

    # The same content with a later source time: unchanged (the time is no content).
    again = await push(client, "g16", "products", [
        product("V11-P", cost_vnd=1_250_000, funding_source="state_budget",
                source_updated_at="2025-04-01T00:00:00+07:00")])
    assert again["unchanged"] == 1

    found = await data(client, """
      query { products(first: 10, filter: {q: "V11-P"}) { nodes {
        sourceId costVnd provenance { channel sourceUpdatedAt } } } }""")
    nodes = {n["sourceId"]: n for n in found["products"]["nodes"]}
    assert nodes["V11-P"]["costVnd"] == 1_250_000
    assert nodes["V11-P"]["provenance"] == {"channel": "push", "sourceUpdatedAt": STAMP}
    courses = await data(client, """
      query { trainingCourses(first: 5, filter: {q: "V11-T"}) { nodes { sourceId costVnd } } }""")
    assert courses["trainingCourses"]["nodes"] == [{"sourceId": "V11-T", "costVnd": 0}]


@pytest.mark.parametrize("item", [
    {"cost_vnd": -1}, {"cost_vnd": 12.5}, {"cost_vnd": "1.250.000"},
    {"source_updated_at": "2025-03-01T10:15:00"},  # no offset
    {"source_updated_at": "01/03/2025"},
])
async def test_bad_v1_1_values_are_rejected_by_field(
    client: httpx.AsyncClient, item: dict[str, object]
) -> None:
    response = await client.post("/v1/products:batch", json={"records": [
        product("V11-BAD", **item)]}, headers=auth("g16"))
    summary = assert_batch_rejected(response)
    assert summary["rejected"] == 1
    rejection = summary["rejections"][0]
    assert rejection["path"] == next(iter(item))
    assert rejection["message_vi"] and rejection["message_en"]


async def test_delete_item_may_carry_its_source_time(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product("V11-D")])
    await push(client, "g16", "products", [
        {"source_id": "V11-D", "_op": "delete", "source_updated_at": STAMP}])
    bad = await client.post("/v1/products:batch", json={"records": [
        {"source_id": "V11-D", "_op": "delete", "source_updated_at": "yesterday"}]},
        headers=auth("g16"))
    assert assert_batch_rejected(bad)["rejections"][0]["path"] == "source_updated_at"


async def test_graphql_mutation_takes_cost_and_source_time(client: httpx.AsyncClient) -> None:
    summary = await data(client, """mutation($records: [ProductInput!]!) {
      upsertProducts(records: $records) { created rejected } }""", {"records": [{
        "sourceId": "V11-G", "kind": "book", "title": "Sách GraphQL", "costVnd": 990_000,
        "sourceUpdatedAt": STAMP}]})
    assert summary["upsertProducts"] == {"created": 1, "rejected": 0}
    got = (await client.get("/v1/products/V11-G", headers=auth("g16"))).json()
    assert got["data"]["cost_vnd"] == 990_000
    assert got["provenance"]["source_updated_at"] == STAMP
    assert got["provenance"]["channel"] == "graphql"
