"""A JSON body that repeats a key in an object is refused (issue 24, item 7): parsers keep the
last one silently, so ``{"records": [A], "records": [B]}`` would drop A without a word. REST
batches and single records answer a 400 problem in both languages; an NDJSON stream rejects
the line (its other lines are taken, as for a line that is not JSON); GraphQL answers 400; a
file import rejects the line."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub._files import read_ndjson
from hub._json_strict import DuplicateKey, check_unique_keys, loads
from tests.api._helpers import assert_problem, list_all, product
from tests.conftest import auth

pytestmark = pytest.mark.anyio
JSON = {**auth("g16"), "Content-Type": "application/json"}


def _record(source_id: str) -> bytes:
    return orjson.dumps(product(source_id))


def assert_duplicate(response: httpx.Response, key: str) -> dict[str, Any]:
    problem = assert_problem(response, 400)
    assert f'"{key}"' in problem["detail_en"] and "duplicate" in problem["detail_en"]
    assert f'"{key}"' in problem["detail_vi"] and "trùng lặp" in problem["detail_vi"]
    return problem


async def test_batch_with_records_twice_is_refused(client: httpx.AsyncClient) -> None:
    body = b'{"records": [' + _record("dup-a") + b'], "records": [' + _record("dup-b") + b"]}"
    assert_duplicate(await client.post("/v1/products:batch", content=body, headers=JSON),
                     "records")
    assert await list_all(client, "g16", "products") == []


async def test_batch_with_a_record_naming_a_field_twice_is_refused(
    client: httpx.AsyncClient,
) -> None:
    record = _record("dup-c")[:-1] + b', "title": "Ten khac"}'
    body = b'{"records": [' + _record("dup-d") + b", " + record + b"]}"
    assert_duplicate(await client.post("/v1/products:batch", content=body, headers=JSON),
                     "title")
    assert await list_all(client, "g16", "products") == []


async def test_escaped_names_are_the_same_name(client: httpx.AsyncClient) -> None:
    body = b'{"records": [], "\\u0072ecords": [' + _record("dup-e") + b"]}"
    assert_duplicate(await client.post("/v1/products:batch", content=body, headers=JSON),
                     "records")


async def test_put_with_a_field_twice_is_refused(client: httpx.AsyncClient) -> None:
    body = _record("dup-f")[:-1] + b', "kind": "book"}'
    assert_duplicate(await client.put("/v1/products/dup-f", content=body, headers=JSON), "kind")
    assert (await client.get("/v1/products/dup-f", headers=auth("g16"))).status_code == 404


async def test_valid_bodies_still_pass(client: httpx.AsyncClient) -> None:
    # The same key in different objects, and a string holding what looks like a key, are fine.
    record = product("dup-ok", description='"title": "x", "title": "y"')
    response = await client.post("/v1/products:batch",
                                 json={"records": [record, product("dup-ok-2")]},
                                 headers=auth("g16"))
    assert response.status_code == 200 and response.json()["created"] == 2, response.text


async def test_ndjson_line_with_a_key_twice_is_rejected(client: httpx.AsyncClient) -> None:
    bad = _record("dup-h")[:-1] + b', "title": "Ten khac"}'
    body = b"\n".join([_record("dup-g"), bad, _record("dup-i")]) + b"\n"
    response = await client.post("/v1/products:batch", content=body,
                                 headers={**auth("g16"), "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["created"] == 2 and summary["rejected"] == 1, summary
    (rejection,) = summary["rejections"]
    assert rejection["index"] == 2 and rejection["code"] == "duplicate_key"
    assert '"title"' in rejection["message_en"] and "Line 2" in rejection["message_en"]
    assert "trùng lặp" in rejection["message_vi"] and "Dòng 2" in rejection["message_vi"]


@pytest.mark.parametrize("body", [
    b'{"query": "{ __typename }", "query": "{ products { totalCount } }"}',
    b'{"query": "query($a: Int) { __typename }", "variables": {"a": 1, "a": 2}}',
])
async def test_graphql_body_with_a_key_twice_is_400(
    client: httpx.AsyncClient, body: bytes
) -> None:
    problem = assert_problem(await client.post("/graphql", content=body, headers=JSON), 400)
    assert "duplicate" in problem["detail_en"] and "trùng lặp" in problem["detail_vi"]


async def test_graphql_get_variables_with_a_key_twice_is_400(
    client: httpx.AsyncClient,
) -> None:
    variables = quote('{"a": 1, "a": 2}')
    query = quote("query($a: Int) { __typename }")
    url = f"/graphql?query={query}&variables={variables}"
    problem = assert_problem(await client.get(url, headers=auth("g16")), 400)
    assert "duplicate" in problem["detail_en"]


def test_file_import_line_with_a_key_twice_is_rejected() -> None:
    rows = list(read_ndjson(io.BytesIO(b'{"a": 1}\n{"a": 1, "a": 2}\n')))
    assert rows[0].item == {"a": 1} and rows[1].item is None
    assert rows[1].error is not None and '"a"' in rows[1].error[1]


@pytest.mark.parametrize("text", [
    b'{"a": {"b": 1, "b": 2}}', b'[{"x": 1}, {"y": 1, "y": 1}]', '{"é": 1, "\\u00e9": 2}',
    b'{"a": 1, "b": [{"a": 2}], "a": 3}', b'{"\\u003a": 1, ":": 2}', b'{"a": 1 , "a" :2}',
    b'{"k": "x:y", "k": "\\u003a"}',
])
def test_loader_finds_duplicates_at_any_depth(text: bytes | str) -> None:
    with pytest.raises(DuplicateKey):
        loads(text)


@pytest.mark.parametrize("text", [
    b'{"a": {"a": {"a": 1}}}', b'[{"x": 1}, {"x": 1}]', b'"{\\"a\\": 1, \\"a\\": 2}"', b"[]",
    b'{"a:": 1, "a": 2}', b'{"\\"a": 1, "a": 2}', b'{"a": "\\u003a", "b": ":"}',
    b'{"a": "\\\\u003a", "b": "::"}',
])
def test_loader_keeps_what_is_not_a_duplicate(text: bytes) -> None:
    assert loads(text) == orjson.loads(text)
    check_unique_keys(text)


# --- the colon count against the scan (hypothesis) --------------------------------------------

_NAMES = st.sampled_from(["a", "b", "a:", ":", '"', "\\", "é", "\u00e9", "x\":1", "\x01"])
_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                    _NAMES)


def _objects(children: Any) -> Any:
    # An object as its list of members, so a name can come twice.
    return st.lists(st.tuples(_NAMES, children), max_size=4).map(lambda m: ("obj", m))


_VALUES = st.recursive(_LEAVES, lambda c: st.one_of(st.lists(c, max_size=3), _objects(c)),
                       max_leaves=12)


def _text(value: Any, ascii_only: bool, spaced: bool) -> str:
    sep = ": " if spaced else ":"
    if isinstance(value, tuple) and value[:1] == ("obj",):
        return "{" + ", ".join(json.dumps(k, ensure_ascii=ascii_only) + sep
                               + _text(v, ascii_only, spaced) for k, v in value[1]) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_text(v, ascii_only, spaced) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def _has_duplicate(value: Any) -> bool:
    if isinstance(value, tuple) and value[:1] == ("obj",):
        names = [k for k, _ in value[1]]
        return len(set(names)) != len(names) or any(_has_duplicate(v) for _, v in value[1])
    if isinstance(value, list):
        return any(_has_duplicate(v) for v in value)
    return False


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=_VALUES, ascii_only=st.booleans(), spaced=st.booleans(), as_bytes=st.booleans())
def test_loader_refuses_exactly_the_duplicates(
    value: Any, ascii_only: bool, spaced: bool, as_bytes: bool
) -> None:
    text = _text(value, ascii_only, spaced)
    data: bytes | str = text.encode() if as_bytes else text
    if _has_duplicate(value):
        with pytest.raises(DuplicateKey):
            loads(data)
    else:
        assert loads(data) == orjson.loads(data)
