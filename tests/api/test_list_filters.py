"""List filters, keyset pagination and page-size caps on products, events and courses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from gateway import create_app
from hub import Hub
from tests.api._helpers import assert_problem, course, event, list_all, product, push, source_ids
from tests.conftest import auth, make_settings

pytestmark = pytest.mark.anyio


async def test_product_filters(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [
        product("P-BOOK", kind="book", themes=["rights_children"], languages=["vie"],
                target_groups=["reporter"], channels=["press"], published_on="2024-03-01"),
        product("P-VIDEO", kind="video", themes=["rights_women", "achievements"],
                languages=["eng", "vie"], target_groups=["police"],
                channels=["social_network"], publication_year=2025),
        product("P-EBOOK", kind="ebook", themes=["vn_policy_law"], languages=["hmn"],
                channels=["website", "social_network"], published_on="2025-09-15"),
    ])
    cases: list[tuple[dict[str, str], set[str]]] = [
        ({}, {"P-BOOK", "P-VIDEO", "P-EBOOK"}),
        ({"kind": "video"}, {"P-VIDEO"}),
        ({"kind": "article"}, set()),
        ({"theme": "rights_women"}, {"P-VIDEO"}),
        ({"theme": "achievements"}, {"P-VIDEO"}),
        ({"language": "vie"}, {"P-BOOK", "P-VIDEO"}),
        ({"language": "hmn"}, {"P-EBOOK"}),
        ({"target_group": "police"}, {"P-VIDEO"}),
        ({"channel": "social_network"}, {"P-VIDEO", "P-EBOOK"}),
        ({"channel": "social_network", "language": "vie"}, {"P-VIDEO"}),
        # Primary date: published_on, else 1 January of publication_year.
        ({"date_from": "2025-01-01"}, {"P-VIDEO", "P-EBOOK"}),
        ({"date_to": "2024-12-31"}, {"P-BOOK"}),
        ({"date_from": "2025-01-01", "date_to": "2025-06-30"}, {"P-VIDEO"}),
        ({"date_from": "2024-03-01", "date_to": "2024-03-01"}, {"P-BOOK"}),
        ({"kind": "book", "theme": "rights_women"}, set()),
    ]
    for params, expected in cases:
        assert set(await source_ids(client, "g16", "products", **params)) == expected, params


async def test_event_and_course_filters(client: httpx.AsyncClient) -> None:
    await push(client, "g15", "events", [
        event("E-1", kind="press_briefing", start_date="2025-01-15", themes=["achievements"],
              target_groups=["reporter"]),
        event("E-2", kind="exhibition_domestic", start_date="2025-08-10",
              languages=["vie"], target_groups=["general_public"]),
    ])
    await push(client, "g15", "training-courses", [
        course("C-1", start_date="2024-11-05", target_groups=["spokesperson"],
               themes=["rights_ethnic_minorities"]),
        course("C-2", start_date="2025-04-01", end_date="2025-04-03",
               target_groups=["police", "legal_rapporteur"], languages=["vie"]),
    ])
    for params, expected in [
        ({"kind": "exhibition_domestic"}, {"E-2"}),
        ({"theme": "achievements"}, {"E-1"}),
        ({"target_group": "reporter"}, {"E-1"}),
        ({"language": "vie"}, {"E-2"}),
        ({"date_from": "2025-02-01"}, {"E-2"}),
        ({"date_to": "2025-01-15"}, {"E-1"}),
    ]:
        assert set(await source_ids(client, "g16", "events", **params)) == expected, params
    for params, expected in [
        ({"target_group": "police"}, {"C-2"}),
        ({"target_group": "spokesperson"}, {"C-1"}),
        ({"theme": "rights_ethnic_minorities"}, {"C-1"}),
        ({"date_from": "2025-01-01"}, {"C-2"}),
        ({"date_to": "2024-12-31"}, {"C-1"}),
        ({"q": "lop tap huan c-2"}, {"C-2"}),
    ]:
        assert set(await source_ids(client, "g16", "training-courses", **params)) == expected, (
            params
        )
    # Types do not leak into one another.
    assert await source_ids(client, "g16", "products") == []


async def test_updated_since(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product("OLD-1"), product("OLD-2")])
    await asyncio.sleep(0.05)
    mark = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await push(client, "g16", "products", [product("NEW-1"), product("OLD-2", title="Sửa")])

    since = await source_ids(client, "g16", "products", updated_since=mark.isoformat())
    assert set(since) == {"NEW-1", "OLD-2"}
    # A naive timestamp is read as UTC.
    naive = mark.replace(tzinfo=None).isoformat()
    assert set(await source_ids(client, "g16", "products", updated_since=naive)) == {
        "NEW-1", "OLD-2"
    }
    # The same instant in Asia/Ho_Chi_Minh (+07:00) selects the same records.
    local = mark.astimezone(timezone(timedelta(hours=7))).isoformat()
    assert set(await source_ids(client, "g16", "products", updated_since=local)) == {
        "NEW-1", "OLD-2"
    }
    future = (mark + timedelta(days=1)).isoformat()
    assert await source_ids(client, "g16", "products", updated_since=future) == []


async def test_q_filters_products(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [
        product("Q-1", title="Quyền trẻ em", authors=["Nguyễn Văn A"]),
        product("Q-2", title="Bình đẳng giới", description="Về quyền phụ nữ"),
        product("Q-3", title="Sổ tay báo chí"),
    ])
    assert set(await source_ids(client, "g16", "products", q="quyen")) == {"Q-1", "Q-2"}
    assert await source_ids(client, "g16", "products", q="nguyen van") == ["Q-1"]
    assert await source_ids(client, "g16", "products", q="phu nu") == ["Q-2"]
    assert await source_ids(client, "g16", "products", q="khong co gi") == []


async def test_keyset_pagination_each_record_once_in_seq_order(
    client: httpx.AsyncClient,
) -> None:
    # Several batches, some updates (which move a record to the front), and a delete.
    await push(client, "g16", "products", [product(f"K-{i:03d}") for i in range(60)])
    await push(client, "g15", "products", [product(f"K-{i:03d}") for i in range(20)])
    await push(client, "g16", "products", [product("K-005", title="Cập nhật")])
    assert (await client.delete("/v1/products/K-010", headers=auth("g16"))).status_code == 204

    seen: list[dict[str, object]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/v1/products", params=params, headers=auth("g16"))
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 7
        seen.extend(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["items"]) == 7
    keys = [(i["owner_agency"], i["source_id"]) for i in seen]
    assert len(keys) == len(set(keys)) == 79
    assert ("G16", "K-010") not in keys
    assert pages == 12
    # Most recently changed first: the update of K-005 is on top.
    assert keys[0] == ("G16", "K-005")
    assert keys[1][0] == "G15"

    # The order is by seq descending: a second walk with another page size agrees.
    second = await list_all(client, "g16", "products", limit=13)
    assert [(i["owner_agency"], i["source_id"]) for i in second] == keys


async def test_pagination_with_search_ranks_then_seq(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [
        product(f"S-{i:02d}", title="quyen con nguoi" if i % 5 == 0 else f"Sách về quyền {i}")
        for i in range(25)
    ])
    whole = await list_all(client, "g16", "products", q="quyen", limit=200)
    paged = await list_all(client, "g16", "products", q="quyen", limit=4)
    assert [i["source_id"] for i in paged] == [i["source_id"] for i in whole]
    assert len(whole) == 25 and len({i["source_id"] for i in paged}) == 25
    # The five prefix matches come first.
    assert {i["source_id"] for i in paged[:5]} == {f"S-{i:02d}" for i in range(0, 25, 5)}


async def test_limit_is_capped_at_max_page_size(hub: Hub) -> None:
    # Page sizes are read from the hub's settings (the route asks hub.settings).
    settings = make_settings(hub.settings.database_url, max_page_size=5, default_page_size=3)
    small = Hub(settings)
    app = create_app(settings, hub=small)
    app.state.hub = small
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        await push(client, "g16", "products", [product(f"L-{i}") for i in range(12)])
        big = await client.get("/v1/products", params={"limit": 1000}, headers=auth("g16"))
        assert big.status_code == 200
        assert len(big.json()["items"]) == 5 and big.json()["next_cursor"]
        default = await client.get("/v1/products", headers=auth("g16"))
        assert len(default.json()["items"]) == 3
    await small.close()


async def test_limit_is_capped_with_default_settings(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product(f"M-{i:03d}") for i in range(205)])
    response = await client.get("/v1/products", params={"limit": 1000}, headers=auth("g16"))
    assert response.status_code == 200
    assert len(response.json()["items"]) == 200
    assert response.json()["next_cursor"] is not None
    default = await client.get("/v1/products", headers=auth("g16"))
    assert len(default.json()["items"]) == 50


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "abc", "1.5"])
async def test_out_of_range_limit_is_400(client: httpx.AsyncClient, limit: str) -> None:
    response = await client.get("/v1/products", params={"limit": limit}, headers=auth("g16"))
    body = assert_problem(response, 400)
    assert body["errors"][0]["path"] == "query.limit"


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "AAAA", "W10", "WyJhIl0", "WzEsMl0", "eyJhIjoxfQ", "!!", "x" * 600],
)
async def test_bad_cursor_is_400(client: httpx.AsyncClient, cursor: str) -> None:
    await push(client, "g16", "products", [product("CUR-1")])
    response = await client.get("/v1/products", params={"cursor": cursor}, headers=auth("g16"))
    assert_problem(response, 400)


async def test_cursor_of_a_search_is_refused_without_search(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product(f"X-{i}", title="quyen") for i in range(4)])
    page = (await client.get("/v1/products", params={"q": "quyen", "limit": 2},
                             headers=auth("g16"))).json()
    assert page["next_cursor"]
    plain = await client.get("/v1/products", params={"cursor": page["next_cursor"]},
                             headers=auth("g16"))
    assert_problem(plain, 400)


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2025-02-30"},
        {"date_to": "31/12/2025"},
        {"date_from": "yesterday"},
        {"updated_since": "2025-13-01T00:00:00"},
        {"updated_since": "not a time"},
        {"include_deleted": "maybe"},
        {"kind": "Sách"},
        {"theme": "a b"},
        {"agency": "G16;DROP"},
    ],
)
async def test_invalid_filter_values_are_400(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get("/v1/products", params=params, headers=auth("g16"))
    body = assert_problem(response, 400)
    assert body["errors"], body


async def test_unknown_agency_filter_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/products", params={"agency": "ZZ99"}, headers=auth("g16"))
    body = assert_problem(response, 400)
    assert "ZZ99" in body["detail_en"]


@pytest.mark.parametrize(
    "since, found",
    [
        ("0001-01-01T00:00:00+05:00", True),
        ("0001-01-01T00:00:00", True),
        ("9999-12-31T23:59:59-05:00", False),
        ("9999-12-31T23:59:59.999999", False),
        ("2000-01-01T00:00:00+14:00", True),
    ],
)
async def test_updated_since_at_the_edges_of_time(
    client: httpx.AsyncClient, since: str, found: bool
) -> None:
    await push(client, "g16", "products", [product("EDGE-1")])
    response = await client.get("/v1/products", params={"updated_since": since},
                                headers=auth("g16"))
    assert response.status_code == 200, response.text
    assert [i["source_id"] for i in response.json()["items"]] == (["EDGE-1"] if found else [])
