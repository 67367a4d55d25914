"""Prepared queries (gateway.graphql._prepared): a query document already validated is run
straight through graphql-core the next time, with the same results, the same errors and the
same policy as the whole Strawberry way; mutations and refused documents never are."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from gateway.graphql._prepared import PreparedQueries
from gateway.graphql._schema import build_schema
from gateway.graphql._view import GraphQLView
from hub import Hub
from tests.api._helpers import product, push
from tests.graphql._helpers import data, errors, gql

pytestmark = pytest.mark.anyio


def _unique(document: str) -> str:
    """The document with a comment of its own: the schema (and its prepared documents) is
    shared by every test of the session, and this test must see the first time."""
    return f"# {uuid.uuid4().hex}\n{document}"


PAGE = """query($first: Int, $filter: RecordFilterInput) {
  products(first: $first, filter: $filter) {
    nodes { sourceId title agency { code name } languages }
    pageInfo { hasNextPage }
  }
}"""


@pytest.fixture
def strawberry_off(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Call to make the whole Strawberry way fail from then on: what still answers is the
    prepared way."""

    def switch() -> None:
        async def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise AssertionError("the request went the Strawberry way")

        monkeypatch.setattr(GraphQLView, "run", refuse)

    return switch


async def test_second_run_is_prepared_and_the_same(
    client: httpx.AsyncClient, hub: Hub, strawberry_off: Any
) -> None:
    await push(client, "g16", "products", [
        product(f"P{i}", title=f"Quyền trẻ em {i}", languages=["vie", "eng"]) for i in range(5)
    ])
    query = _unique(PAGE)
    prepared = build_schema(hub.settings).prepared
    assert prepared.get(query, None) is None
    first = await gql(client, query, {"first": 3})
    assert prepared.get(query, None) is not None
    strawberry_off()
    assert await gql(client, query, {"first": 3}) == first
    # Other variables, other results, on the same prepared document.
    page = (await data(client, query, {"first": 5, "filter": {"q": "quyen tre em 4"}}))
    assert page["products"]["nodes"][0]["sourceId"] == "P4"
    assert len((await data(client, query, {"first": 5}))["products"]["nodes"]) == 5


async def test_each_request_keeps_its_own_caller(
    client: httpx.AsyncClient, strawberry_off: Any
) -> None:
    await push(client, "g16", "products", [product("MINE", visibility="private")])
    await push(client, "hg", "products", [product("THEIRS", visibility="private")])
    query = _unique("{ products(first: 50) { nodes { sourceId } } }")
    seen_by = {c: {n["sourceId"] for n in (await data(client, query, caller=c))["products"]
                   ["nodes"]} for c in ("g16", "hg")}
    strawberry_off()
    for caller, expected in seen_by.items():
        again = await data(client, query, caller=caller)
        assert {n["sourceId"] for n in again["products"]["nodes"]} == expected
    assert "MINE" in seen_by["g16"] and "MINE" not in seen_by["hg"]
    assert "THEIRS" in seen_by["hg"] and "THEIRS" not in seen_by["g16"]


async def test_errors_still_go_the_strawberry_way(client: httpx.AsyncClient, hub: Hub) -> None:
    query = _unique(PAGE)
    await data(client, query, {"first": 1})
    assert build_schema(hub.settings).prepared.get(query, None) is not None
    # A resolver's error and variables that do not fit: the same described errors as ever.
    too_many = await errors(client, query, {"first": 100_000})
    assert "first" in too_many[0]["message"]
    assert too_many[0]["extensions"]["code"] == "invalid-input"
    wrong_type = await errors(client, query, {"first": "many"})
    assert "first" in wrong_type[0]["message"]
    # No credential: refused before any document is looked at, prepared or not.
    anonymous = await client.post("/graphql", json={"query": query, "variables": {"first": 1}})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")


async def test_mutations_and_refused_documents_are_never_prepared(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    prepared = build_schema(hub.settings).prepared
    mutation = _unique("""mutation($p: [ProductInput!]!) {
      upsertProducts(records: $p) { created updated unchanged }
    }""")
    for _ in range(2):
        summary = await data(client, mutation, {"p": [{"sourceId": "M1", "title": "Sổ tay",
                                                       "kind": "book"}]})
        assert summary["upsertProducts"]["created"] + summary["upsertProducts"]["unchanged"] == 1
        assert prepared.get(mutation, None) is None
    inner = "code"
    for level in range(18):
        inner = f"{'predecessors' if level % 2 else 'successors'} {{ {inner} }}"
    deep = _unique(f'{{ agency(code: "08") {{ {inner} }} }}')
    for _ in range(2):
        assert await errors(client, deep)
        assert prepared.get(deep, None) is None


def test_named_and_unnamed_operations() -> None:
    from graphql import parse

    prepared = PreparedQueries(maxsize=3)
    one = "query Page { products { nodes { id } } }"
    prepared.remember(one, "Page", parse(one))
    assert prepared.get(one, "Page") is not None and prepared.get(one, None) is not None
    two = "query A { products { nodes { id } } } query B { agencies { code } }"
    prepared.remember(two, "B", parse(two))
    assert prepared.get(two, "B") is not None
    assert prepared.get(two, None) is None and prepared.get(two, "A") is None
    # Bounded: the oldest go first.
    for i in range(3):
        text = f"{{ products(first: {i + 1}) {{ nodes {{ id }} }} }}"
        prepared.remember(text, None, parse(text))
    assert len(prepared) == 3
    assert prepared.get(one, "Page") is None
