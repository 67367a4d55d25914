"""Malformed GraphQL requests answer a 400 problem in both languages, never a 500: bodies
that are JSON but not an object, bytes that are not UTF-8, variables nested thousands deep
(in the body or in a GET's query string), random bytes and JSON values, and random documents
built from the schema's own names (hypothesis)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api._helpers import assert_problem
from tests.conftest import auth

pytestmark = pytest.mark.anyio
JSON = {**auth("g16"), "Content-Type": "application/json"}
DEEP = b'{"query": "query($v: JSON) { __typename }", "variables": {"v": ' + \
    b"[" * 2000 + b"]" * 2000 + b"}}"
NESTED_100 = orjson.dumps({"query": "{ __typename }",
                           "variables": {"v": orjson.loads(b"[" * 100 + b"]" * 100)}})


@pytest.mark.parametrize("body", [
    b"5", b'"q"', b"null", b"true", b"\xff\xfe{", b'{"query": "\xc3\x28"}', b"\xed\xa0\x80",
    DEEP, NESTED_100, b"[" * 3000,
])
async def test_malformed_body_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    problem = assert_problem(await client.post("/graphql", content=body, headers=JSON), 400)
    assert problem["detail_vi"] != problem["detail_en"]


async def test_deep_variables_in_a_get_are_400(client: httpx.AsyncClient) -> None:
    url = f"/graphql?query={quote('{ __typename }')}&variables={quote('[' * 2000)}"
    assert_problem(await client.get(url, headers=auth("g16")), 400)
    nested = quote('{"v": ' + "[" * 80 + "]" * 80 + "}")
    assert_problem(await client.get(f"/graphql?query={quote('{ __typename }')}"
                                    f"&variables={nested}", headers=auth("g16")), 400)


async def test_plain_requests_still_answer(client: httpx.AsyncClient) -> None:
    ok = await client.post("/graphql", json={"query": "{ __typename }",
                                             "variables": {"a": [[1, 2], {"b": 3}]}},
                           headers=auth("g16"))
    assert ok.status_code == 200 and ok.json()["data"] == {"__typename": "Query"}


_json = st.recursive(st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.sampled_from(["query", "variables", "operationName",
                                                        "extensions", "x"]), inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=64), _json.map(orjson.dumps)))
async def test_no_body_makes_a_server_error(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/graphql", content=body, headers=JSON)
    assert response.status_code < 500, (body, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
    else:
        assert "data" in response.json() or "errors" in response.json()


# Random documents: token soups made of the schema's own names and GraphQL's punctuation,
# and near-valid queries with a part swapped, so the parser, the validator, the limits and
# the resolvers all see input they were not written for.
_NAMES = sorted(set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\b",
                               (Path(__file__).parents[2] / "openapi" / "schema.graphql")
                               .read_text(encoding="utf-8"))))
_DOCUMENT = st.lists(st.one_of(
    st.sampled_from(_NAMES),
    st.sampled_from(["{", "}", "(", ")", "[", "]", ":", "$", "!", "=", "@", "...", ",", "|",
                     "&", '"', '"""', "#", "\n", "query", "mutation", "subscription",
                     "fragment", "on", "null", "true", "1", "-1.5e309", '"Hà Nội"',
                     "\\u0000", "__schema", "__type", "__typename"]),
    st.text(max_size=6),
), max_size=40).map(" ".join)
_SHAPED = st.builds(
    "{{ {field}(first: {first}, after: {after}, filter: {{{key}: {value}}}) {{ {sel} }} }}".format,
    field=st.sampled_from(["products", "events", "trainings", "agencies", "node", "agency",
                           "nope"]),
    first=st.sampled_from(["1", "0", "-1", "2147483648", '"5"', "null", "1.5", "$x"]),
    after=st.sampled_from(['"x"', "null", '""', "1", '"' + "A" * 300 + '"']),
    key=st.sampled_from(["agency", "kind", "q", "updatedSince", "province", "zzz"]),
    value=st.sampled_from(['"G16"', "1", "[1, 2]", "{a: 1}", "null", '"\\ud800"',
                           '"2025-13-45"', "ENUM"]),
    sel=st.sampled_from(["edges { node { id title } }", "totalCount", "id", "__typename",
                         "edges { node { ... on Node { id } } }", "pageInfo { endCursor }",
                         "edges { cursor node { agency { name successors { code } } } }"]),
)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.one_of(_DOCUMENT, _SHAPED),
       variables=st.one_of(st.none(), st.dictionaries(st.sampled_from(["x", "v", "first"]),
                                                      _json, max_size=2)))
async def test_no_document_makes_a_server_error(
    client: httpx.AsyncClient, document: str, variables: Any
) -> None:
    response = await client.post("/graphql", headers=JSON, content=orjson.dumps(
        {"query": document, "variables": variables}))
    assert response.status_code < 500, (document, response.text)
    body = response.json()
    if response.status_code >= 400 and response.headers["content-type"].startswith(
            "application/problem+json"):
        assert body["detail_vi"] and body["detail_en"]
    else:
        assert "data" in body or "errors" in body, (document, body)
        for error in body.get("errors") or []:
            assert error.get("message"), (document, error)
