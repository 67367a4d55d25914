"""Mutations go through the one ingest pipeline and answer REST's import summary: batch and
single upserts, deletes, dry runs, Idempotency keys, If-Match, scopes and ownership."""

from __future__ import annotations

import httpx
import pytest

from hub import Hub
from tests.api._helpers import product
from tests.conftest import auth
from tests.graphql._helpers import data, errors

pytestmark = pytest.mark.anyio

SUMMARY = "created updated unchanged deleted rejected dryRun " \
          "rejections { index sourceId path code messageVi messageEn }"
BATCH = f"""mutation($records: [ProductInput!]!, $dryRun: Boolean! = false, $key: String) {{
  upsertProducts(records: $records, dryRun: $dryRun, idempotencyKey: $key) {{ {SUMMARY} }}
}}"""


def _snake(summary: dict[str, object]) -> dict[str, object]:
    """The GraphQL summary in REST's (snake_case) shape."""
    rejections = [
        {"index": r["index"], "source_id": r["sourceId"], "path": r["path"], "code": r["code"],
         "message_vi": r["messageVi"], "message_en": r["messageEn"]}
        for r in summary["rejections"]  # type: ignore[attr-defined]
    ]
    return {"created": summary["created"], "updated": summary["updated"],
            "unchanged": summary["unchanged"], "deleted": summary["deleted"],
            "rejected": summary["rejected"], "dry_run": summary["dryRun"],
            "rejections": rejections}


def _graphql_product(source_id: str, **extra: object) -> dict[str, object]:
    record = product(source_id, **extra)
    return {"sourceId": record.pop("source_id"), **record}


async def test_batch_upsert_answers_the_rest_summary(client: httpx.AsyncClient) -> None:
    records = [_graphql_product("G1", publicationYear=2024), _graphql_product("G2"),
               {**_graphql_product("G3"), "kind": "not_a_kind"},
               {**_graphql_product("G4"), "isbn": "978-0-00-000000-1"}]
    summary = (await data(client, BATCH, {"records": records}))["upsertProducts"]
    assert (summary["created"], summary["rejected"]) == (2, 2)
    assert {(r["index"], r["path"]) for r in summary["rejections"]} == {(2, "kind"),
                                                                        (3, "isbn")}
    assert all(r["messageVi"] and r["messageEn"] for r in summary["rejections"])

    # The same rejected batch through REST gives the same summary, word for word.
    rest = await client.post("/v1/products:batch", headers=auth("g15"), json={"records": [
        product("G3", kind="not_a_kind"), product("G1"),
    ]})
    again = (await data(client, BATCH, {"records": [records[2], records[0]]},
                        caller="g15"))["upsertProducts"]
    assert rest.json()["rejections"] == _snake(again)["rejections"]

    # Stored with provenance "graphql"; readable through REST at once.
    stored = await client.get("/v1/products/G1", headers=auth("g16"))
    assert stored.json()["provenance"]["channel"] == "graphql"
    assert stored.json()["data"]["publication_year"] == 2024
    unchanged = (await data(client, BATCH, {"records": records[:2]}))["upsertProducts"]
    assert unchanged["unchanged"] == 2 and unchanged["created"] == 0


async def test_dry_run_idempotency_and_delete(client: httpx.AsyncClient) -> None:
    records = [_graphql_product("D1")]
    dry = (await data(client, BATCH, {"records": records, "dryRun": True}))["upsertProducts"]
    assert dry["dryRun"] is True and dry["created"] == 1
    assert (await client.get("/v1/products/D1", headers=auth("g16"))).status_code == 404

    first = (await data(client, BATCH, {"records": records, "key": "k-1"}))["upsertProducts"]
    replay = (await data(client, BATCH, {"records": records, "key": "k-1"}))["upsertProducts"]
    assert first["created"] == 1 and replay == first  # the first answer, nothing written twice
    reused = await errors(client, BATCH, {"records": [_graphql_product("D2")], "key": "k-1"})
    assert reused[0]["extensions"]["code"] == "idempotency-key-reused"

    stale = await errors(client, """mutation { upsertProduct(ifMatch: "\\"9-abc\\"",
        record: {sourceId: "D1", kind: "book", title: "Mới"}) { updated } }""")
    assert stale[0]["extensions"]["status"] == 412
    deleted = (await data(client, 'mutation { deleteProduct(sourceId: "D1") { deleted } }'))
    assert deleted["deleteProduct"]["deleted"] == 1
    assert (await client.get("/v1/products/D1", headers=auth("g16"))).json()["deleted"] is True
    gone = await data(client, '{ record(type: PRODUCTS, sourceId: "D1") { id } }')
    assert gone["record"] is None


async def test_writes_need_the_scope_and_own_only(client: httpx.AsyncClient) -> None:
    refused = await errors(client, BATCH, {"records": [_graphql_product("R1")]},
                           caller="reader")
    assert refused[0]["extensions"]["code"] == "forbidden"
    assert refused[0]["extensions"]["required_scope"] == "records:write"
    # An agency writes only its own records: G15's R1 is a new record of G15, not G16's.
    await data(client, BATCH, {"records": [_graphql_product("R1", title="của G16")]})
    await data(client, BATCH, {"records": [_graphql_product("R1", title="của G15")]},
               caller="g15")
    mine = await client.get("/v1/products/R1", headers=auth("g16"))
    assert mine.json()["data"]["title"] == "của G16"


async def test_batch_limit(client: httpx.AsyncClient, hub: Hub) -> None:
    limit = hub.settings.max_batch_records
    too_many = [_graphql_product(f"L{i}") for i in range(limit + 1)]
    refused = await errors(client, BATCH, {"records": too_many})
    assert refused[0]["extensions"]["status"] == 413
