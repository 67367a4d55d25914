"""Malformed GraphQL requests answer a 400 problem in both languages, never a 500: bodies
that are JSON but not an object, bytes that are not UTF-8, variables nested thousands deep
(in the body or in a GET's query string), and random bytes and JSON values (hypothesis)."""

from __future__ import annotations

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
