"""Bad input never makes the hub answer 500: every refusal is an RFC 9457 problem with
``type``, ``title``, ``status``, ``detail``, ``detail_vi`` and ``detail_en``."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from gateway import create_app
from hub import Hub
from tests.api._helpers import assert_batch_rejected, assert_problem, product, push
from tests.conftest import auth, make_settings

pytestmark = pytest.mark.anyio

JSON_HEADERS = {**auth("g16"), "Content-Type": "application/json"}


def _cursor(values: list[int]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b'{"records": [',
        b"\xff\xfe{}",
        b'{"records": [{"source_id": "A", "title": "\xc3\x28"}]}',
        b'{"records": [{"source_id": "\xed\xa0\x80"}]}',
        b"[" * 5000 + b"]" * 5000,
        b'{"records": [{"source_id": "A", "page_count": 1e400}]}',
        b'{"records": "not a list"}',
        b'{"records": {"source_id": "A"}}',
        b'{"records": null}',
        b'{"records": [], "extra": 1}',
        b'{"record": []}',
        b"[]",
        b'"records"',
        b"null",
        b"42",
    ],
)
async def test_batch_body_refused_with_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/v1/products:batch", content=body, headers=JSON_HEADERS)
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff", b"[1, 2]", b'"x"', b"null", b"[" * 3000, b'{"title": 1e400}'],
)
async def test_put_body_refused_with_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.put("/v1/products/A-1", content=body, headers=JSON_HEADERS)
    assert_problem(response, 400)


async def test_deep_nesting_inside_a_field_is_rejected_per_record(
    client: httpx.AsyncClient,
) -> None:
    # 500 levels: within the JSON parser's depth limit, so it reaches record validation.
    nested = b'{"a": [' * 250 + b'"x"' + b"]}" * 250
    records = [
        b'{"source_id": "DEEP-1", "kind": "book", "title": ' + nested + b"}",
        b'{"source_id": "DEEP-2", "kind": "book", "title": "t", "links": ' + nested + b"}",
        b'{"source_id": "DEEP-3", "kind": "book", "title": "t", "authors": [' + nested + b"]}",
        orjson.dumps(product("OK-1")),
    ]
    body = b'{"records": [' + b", ".join(records) + b"]}"
    response = await client.post("/v1/products:batch", content=body, headers=JSON_HEADERS)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["created"] == 1 and summary["rejected"] == 3, summary
    assert len(response.content) < 20_000  # the nested input is not echoed back


@pytest.mark.parametrize(
    "record, path",
    [
        ({"records": [1]}, ""),
        ({"records": ["text"]}, ""),
        ({"records": [None]}, ""),
        ({"records": [[{"source_id": "A"}]]}, ""),
    ],
)
async def test_record_not_an_object_is_rejected(
    client: httpx.AsyncClient, record: dict[str, Any], path: str
) -> None:
    response = await client.post("/v1/products:batch", json=record, headers=auth("g16"))
    summary = assert_batch_rejected(response)
    assert summary["rejected"] == 1
    assert summary["rejections"][0]["code"] == "not_an_object"
    assert summary["rejections"][0]["path"] == path


@pytest.mark.parametrize(
    "change, path",
    [
        ({"title": 42}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": None}, "title"),
        ({"source_id": 17}, "source_id"),
        ({"languages": "vie"}, "languages"),
        ({"themes": [1]}, "themes.0"),
        ({"page_count": "many"}, "page_count"),
        ({"page_count": -1}, "page_count"),
        ({"page_count": 2**80}, "page_count"),
        ({"page_count": -(2**80)}, "page_count"),
        ({"page_count": 1.5}, "page_count"),
        ({"publication_year": 10**30}, "publication_year"),
        ({"published_on": "2025-02-30"}, "published_on"),
        ({"published_on": 20250101}, "published_on"),
        ({"links": [{"url": "javascript:alert(1)"}]}, "links.0.url"),
        ({"links": "http://example.org"}, "links"),
        ({"visibility": "secret"}, "visibility"),
        ({"title": "a\u0000b"}, "title"),
        ({"source_id": "a\u0000b"}, "source_id"),
        ({"description": "x" * 20_001}, "description"),
    ],
)
async def test_wrong_types_are_rejected_per_record(
    client: httpx.AsyncClient, change: dict[str, Any], path: str
) -> None:
    record = {**product("T-1"), **change}
    # The standard library writes integers beyond 64 bits as they are (orjson refuses them).
    body = json.dumps({"records": [record, product("T-2")]}).encode()
    response = await client.post("/v1/products:batch", content=body, headers=JSON_HEADERS)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["created"] == 1 and summary["rejected"] == 1, summary
    assert summary["rejections"][0]["path"] == path
    assert summary["rejections"][0]["message_vi"] and summary["rejections"][0]["message_en"]


async def test_huge_int_in_budget_amount_is_rejected_not_500(
    client: httpx.AsyncClient,
) -> None:
    body = (
        b'{"records": [{"source_id": "BUD-1", "title": "Du toan", "year": 2025, '
        b'"amount_vnd": 1208925819614629174706176}]}'
    )
    response = await client.post("/v1/budgets:batch", content=body, headers=JSON_HEADERS)
    assert assert_batch_rejected(response)["rejected"] == 1
    listed = await client.get("/v1/budgets", headers=auth("g16"))
    assert listed.status_code == 200 and listed.json()["items"] == []


@pytest.mark.parametrize("value", [b"9223372036854775807", b"18446744073709551615", b"1e308"])
async def test_large_numbers_round_trip_or_are_rejected(
    client: httpx.AsyncClient, value: bytes
) -> None:
    body = (b'{"records": [{"source_id": "BIG-N", "kind": "book", "title": "t", '
            b'"duration_seconds": ' + value + b"}]}")
    response = await client.post("/v1/products:batch", content=body, headers=JSON_HEADERS)
    summary = (assert_batch_rejected(response) if response.status_code == 422
               else response.json())
    got = await client.get("/v1/products/BIG-N", headers=auth("g16"))
    if summary["created"] == 1:
        assert got.status_code == 200, got.text
        assert got.json()["data"]["duration_seconds"] == json.loads(value)
        listed = await client.get("/v1/products", headers=auth("g16"))
        assert listed.status_code == 200 and len(listed.json()["items"]) == 1
    else:
        assert summary["rejections"][0]["path"] == "duration_seconds"
        assert_problem(got, 404)


@pytest.mark.parametrize("with_key", [False, True])
async def test_nul_inside_json_strings(client: httpx.AsyncClient, with_key: bool) -> None:
    headers = {**auth("g16"), **({"Idempotency-Key": "nul-1"} if with_key else {})}
    records = [
        {**product("N\u0000UL"), "title": "x"},
        {**product("N-2"), "title": "a\u0000b"},
        {"source_id": "D\u0000EL", "_op": "delete"},
        {**product("N-3"), "\u0000": 1},
        {**product("N-4"), "themes": ["\u0000"]},
        {"source_id": "N-5", "_op": "\u0000"},
        product("N-OK"),
    ]
    response = await client.post("/v1/products:batch", json={"records": records},
                                 headers=headers)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["created"] == 1 and summary["rejected"] == 6, summary
    by_index = {r["index"]: r for r in summary["rejections"]}
    # NUL echoed from the input is replaced (PostgreSQL cannot store it in the summary).
    assert by_index[0]["source_id"] == "N\ufffdUL" and by_index[0]["path"] == "source_id"
    assert by_index[2]["source_id"] == "D\ufffdEL" and by_index[2]["path"] == "source_id"
    assert by_index[3]["path"] == "\ufffd"
    if with_key:
        retry = await client.post("/v1/products:batch", json={"records": records},
                                  headers=headers)
        assert retry.status_code == 200
        assert retry.json() == summary


async def test_nul_in_put_body_is_422(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/v1/products/NUL-1", json=product("NUL-1", title="a\u0000b"), headers=auth("g16")
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["path"] == "title"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_nul_in_path_is_400(client: httpx.AsyncClient, method: str) -> None:
    kwargs: dict[str, Any] = {"json": product("ab")} if method == "PUT" else {}
    response = await client.request(method, "/v1/products/a%00b", headers=auth("g16"), **kwargs)
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "query",
    ["q=a%00", "q=%00", "agency=G1%006", "kind=bo%00ok", "cursor=a%00", "theme=%00",
     "date_from=2025-01-01%00", "q=%7F", "q=a%0Ab"],
)
async def test_nul_and_controls_in_query_are_400(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"/v1/products?{query}", headers=auth("g16"))
    assert_problem(response, 400)


async def test_nul_in_agency_lookup_is_400(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/agencies/G1%006", headers=auth("g16")), 400)
    assert_problem(await client.get("/v1/vocabularies/th%00eme", headers=auth("g16")), 400)


@pytest.mark.parametrize("q", ["   ", "\u0301", "a" * 201])
async def test_empty_or_too_long_search_is_400(client: httpx.AsyncClient, q: str) -> None:
    response = await client.get("/v1/products", params={"q": q}, headers=auth("g16"))
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "cursor", [_cursor([18446744073709551615]), _cursor([-(2**63)]), _cursor([2**63 - 1])]
)
async def test_out_of_range_cursor_values_never_500(
    client: httpx.AsyncClient, cursor: str
) -> None:
    await push(client, "g16", "products", [product("R-1")])
    response = await client.get("/v1/products", params={"cursor": cursor}, headers=auth("g16"))
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_problem(response, 400)


async def test_out_of_range_search_cursor_never_500(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product("R-1", title="quyen")])
    cursor = _cursor([18446744073709551615, 18446744073709551615])
    response = await client.get("/v1/products", params={"cursor": cursor, "q": "quyen"},
                                headers=auth("g16"))
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_problem(response, 400)


@pytest.mark.parametrize("after", ["99999999999999999999", "18446744073709551615",
                                   "9223372036854775808"])
async def test_out_of_range_change_cursor_never_500(
    client: httpx.AsyncClient, after: str
) -> None:
    response = await client.get("/v1/changes", params={"after": after}, headers=auth("g16"))
    if response.status_code == 200:
        assert response.json()["changes"] == []
    else:
        assert_problem(response, 400)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml",
                                          "multipart/form-data; boundary=x",
                                          "application/x-www-form-urlencoded"])
async def test_unsupported_content_type_is_415(
    client: httpx.AsyncClient, content_type: str
) -> None:
    body = orjson.dumps({"records": [product("CT-1")]})
    headers = {**auth("g16"), "Content-Type": content_type}
    batch = await client.post("/v1/products:batch", content=body, headers=headers)
    assert_problem(batch, 415)
    put = await client.put("/v1/products/CT-1", content=orjson.dumps(product("CT-1")),
                           headers=headers)
    assert_problem(put, 415)
    assert (await client.get("/v1/products/CT-1", headers=auth("g16"))).status_code == 404


async def test_json_with_charset_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/products:batch", content=orjson.dumps({"records": [product("CS-1")]}),
        headers={**auth("g16"), "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200 and response.json()["created"] == 1


@pytest.mark.parametrize(
    "key", ["with space", " leading", "tab\there", "x" * 201, "ổn-định"]
)
async def test_bad_idempotency_key_is_400(client: httpx.AsyncClient, key: str) -> None:
    response = await client.post(
        "/v1/products:batch", content=orjson.dumps({"records": [product("IK-1")]}),
        headers=[("Authorization", auth("g16")["Authorization"]),
                 ("Content-Type", "application/json"),
                 ("Idempotency-Key", key.encode("utf-8"))],
    )
    body = assert_problem(response, 400)
    assert any("Idempotency-Key" in e["path"] for e in body["errors"])
    listed = await client.get("/v1/products", headers=auth("g16"))
    assert listed.json()["items"] == []


async def test_empty_idempotency_key_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/products:batch", json={"records": [product("IK-2")]},
        headers={**auth("g16"), "Idempotency-Key": ""},
    )
    assert_problem(response, 400)


@pytest.mark.parametrize("if_match", ["\u00e9tag", "x" * 501])
async def test_bad_if_match_is_400(client: httpx.AsyncClient, if_match: str) -> None:
    response = await client.put(
        "/v1/products/IM-1", json=product("IM-1"),
        headers=[("Authorization", auth("g16")["Authorization"]),
                 ("If-Match", if_match.encode("utf-8"))],
    )
    assert_problem(response, 400)


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/no-such-type", headers=auth("g16")), 404)
    assert_problem(await client.get("/nowhere"), 404)
    assert_problem(await client.patch("/v1/products/A", headers=auth("g16")), 405)
    assert_problem(await client.delete("/v1/products", headers=auth("g16")), 405)
    assert_problem(await client.post("/v1/products:nothing", headers=auth("g16")), 404)


async def test_accept_language_en_gives_english_detail(client: httpx.AsyncClient) -> None:
    vi = assert_problem(await client.get("/v1/products/NONE", headers=auth("g16")), 404)
    assert vi["detail"] == vi["detail_vi"] and vi["title"] == vi["title_vi"]
    en = assert_problem(
        await client.get("/v1/products/NONE",
                         headers={**auth("g16"), "Accept-Language": "en-GB,en;q=0.9"}),
        404,
    )
    assert en["detail"] == en["detail_en"] != en["detail_vi"]
    assert en["title"] == en["title_en"] == "Not found"
    bad_date = assert_problem(
        await client.get("/v1/products", params={"date_from": "x"},
                         headers={**auth("g16"), "Accept-Language": "en"}),
        400,
    )
    assert bad_date["detail"] == bad_date["detail_en"]
    unauth = assert_problem(
        await client.get("/v1/products", headers={"Accept-Language": "en"}), 401
    )
    assert unauth["detail"] == unauth["detail_en"]
    vi_first = assert_problem(
        await client.get("/v1/products/NONE",
                         headers={**auth("g16"), "Accept-Language": "vi, en;q=0.5"}),
        404,
    )
    assert vi_first["detail"] == vi_first["detail_vi"]


# --- body size limits ------------------------------------------------------------------

LIMIT = 2048


@pytest.fixture
async def small_client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(hub.settings.database_url, max_body_bytes=LIMIT)
    app = create_app(settings, hub=hub)
    app.state.hub = hub
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


def _big_batch() -> bytes:
    body = orjson.dumps({"records": [product(f"BIG-{i}") for i in range(40)]})
    assert len(body) > LIMIT
    return body


async def test_body_over_limit_with_content_length_is_413(
    small_client: httpx.AsyncClient,
) -> None:
    response = await small_client.post("/v1/products:batch", content=_big_batch(),
                                       headers=JSON_HEADERS)
    assert_problem(response, 413)
    put = await small_client.put(
        "/v1/products/BIG-0",
        content=orjson.dumps(product("BIG-0", description="x" * LIMIT)), headers=JSON_HEADERS,
    )
    assert_problem(put, 413)
    listed = await small_client.get("/v1/products", headers=auth("g16"))
    assert listed.json()["items"] == []


async def test_body_over_limit_english(small_client: httpx.AsyncClient) -> None:
    response = await small_client.post(
        "/v1/products:batch", content=_big_batch(),
        headers={**JSON_HEADERS, "Accept-Language": "en"},
    )
    body = assert_problem(response, 413)
    assert body["detail"] == body["detail_en"] and "2048" in body["detail"]
    assert body["title"] == "Payload too large"
    vi = assert_problem(
        await small_client.post("/v1/products:batch", content=_big_batch(),
                                headers=JSON_HEADERS),
        413,
    )
    assert vi["detail"] == vi["detail_vi"]
    payload = _big_batch()

    async def chunks() -> AsyncIterator[bytes]:
        yield payload[:1000]
        yield payload[1000:]

    chunked = assert_problem(
        await small_client.post("/v1/products:batch", content=chunks(),
                                headers={**JSON_HEADERS, "Accept-Language": "en"}),
        413,
    )
    assert chunked["detail"] == chunked["detail_en"]


async def test_chunked_body_over_limit_is_413(small_client: httpx.AsyncClient) -> None:
    payload = _big_batch()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 500):
            yield payload[start : start + 500]

    response = await small_client.post(
        "/v1/products:batch", content=chunks(), headers=JSON_HEADERS
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_problem(response, 413)

    async def put_chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    put = await small_client.put("/v1/products/CH-1", content=put_chunks(),
                                 headers=JSON_HEADERS)
    assert_problem(put, 413)
    listed = await small_client.get("/v1/products", headers=auth("g16"))
    assert listed.json()["items"] == []


async def test_chunked_body_under_limit_is_accepted(small_client: httpx.AsyncClient) -> None:
    payload = orjson.dumps({"records": [product("SMALL-1")]})

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 50):
            yield payload[start : start + 50]

    response = await small_client.post(
        "/v1/products:batch", content=chunks(), headers=JSON_HEADERS
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1


async def test_lying_content_length_is_not_500(small_client: httpx.AsyncClient) -> None:
    payload = _big_batch()

    async def chunks() -> AsyncIterator[bytes]:
        yield payload

    response = await small_client.post(
        "/v1/products:batch", content=chunks(),
        headers={**JSON_HEADERS, "Content-Length": "10"},
    )
    assert_problem(response, 413)


@pytest.mark.parametrize("path, misspelt", [
    ("/v1/products?limt=2", "limt"),
    ("/v1/events?agency=G16&knd=training", "knd"),
    ("/v1/changes?curser=0", "curser"),
    ("/v1/products/P-1?expand=files", "expand"),
])
async def test_unknown_query_parameter_is_400_naming_it(
    client: httpx.AsyncClient, path: str, misspelt: str
) -> None:
    response = await client.get(path, headers=auth("g16"))
    problem = assert_problem(response, 400)
    assert problem["unknown_parameters"] == [misspelt]
    assert misspelt in problem["detail_vi"] and misspelt in problem["detail_en"]
    assert "Allowed:" in problem["detail_en"] and "hợp lệ" in problem["detail_vi"]


async def test_declared_query_parameters_still_pass(client: httpx.AsyncClient) -> None:
    listed = await client.get("/v1/products?limit=2&include_deleted=false", headers=auth("g16"))
    assert listed.status_code == 200 and len(listed.json()["items"]) <= 2
    allowed = (await client.get("/v1/products?limt=2", headers=auth("g16"))).json()
    assert "limit" in allowed["allowed_parameters"] and "cursor" in allowed["allowed_parameters"]
    feed = await client.get("/v1/changes?limit=1", headers=auth("g16"))
    assert feed.status_code == 200
