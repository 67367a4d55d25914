"""Diacritic-insensitive search: folding, ranking of exact titles first, literal wildcards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import event as sa_event

from hub import Hub, InvalidInput
from hub._phrase import PUNCTUATION, word_pairs
from hub._query import _search
from tests.api._helpers import event, product, push, source_ids

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "q",
    ["quyen con nguoi", "Quyền con người", "QUYEN CON NGUOI", "quyền   CON người",
     "Quye\u0302\u0300n con ngu\u031bo\u031b\u0300i", "nguoi quyen"],
)
async def test_folded_search_finds_vietnamese_title(client: httpx.AsyncClient, q: str) -> None:
    await push(client, "g16", "products", [
        product("HR", title="Quyền con người"),
        product("OTHER", title="Bình đẳng giới"),
    ])
    assert await source_ids(client, "g16", "products", q=q) == ["HR"]


@pytest.mark.parametrize("q", ["Đắk Lắk", "dak lak", "DAK LAK", "đắk", "Dak"])
async def test_d_with_stroke_folds_to_d(client: httpx.AsyncClient, q: str) -> None:
    await push(client, "g16", "events", [
        event("DL", title="Triển lãm tại Đắk Lắk"),
        event("HN", title="Triển lãm tại Hà Nội"),
    ])
    assert await source_ids(client, "g16", "events", q=q) == ["DL"]


async def test_search_covers_other_text_fields(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [
        product("AUTH", title="Sách A", authors=["Lê Thị Hồng"]),
        product("PUB", title="Sách B", publisher="Nhà xuất bản Chính trị quốc gia Sự thật"),
        product("DESC", title="Sách C", description="Tài liệu về quyền của người khuyết tật"),
    ])
    assert await source_ids(client, "g16", "products", q="le thi hong") == ["AUTH"]
    assert await source_ids(client, "g16", "products", q="su that") == ["PUB"]
    assert await source_ids(client, "g16", "products", q="khuyet tat") == ["DESC"]


async def test_exact_title_ranks_first(client: httpx.AsyncClient) -> None:
    # Pushed in this order so seq order alone would put the exact match last.
    await push(client, "g16", "products", [
        product("EXACT", title="Quyền trẻ em"),
    ])
    await push(client, "g16", "products", [
        product("DESC-ONLY", title="Sổ tay", description="Bàn về quyền trẻ em"),
        product("CONTAINS", title="Hỏi đáp về quyền trẻ em"),
        product("PREFIX", title="Quyền trẻ em trong pháp luật Việt Nam"),
    ])
    order = await source_ids(client, "g16", "products", q="quyen tre em")
    assert order == ["EXACT", "PREFIX", "CONTAINS", "DESC-ONLY"]
    # Without a search the newest comes first.
    plain = await source_ids(client, "g16", "products")
    assert plain[-1] == "EXACT"
    # Diacritics and case in the query do not change the ranking.
    assert await source_ids(client, "g16", "products", q="QUYỀN TRẺ EM") == order


async def test_title_contains_tier_takes_whole_words(client: httpx.AsyncClient) -> None:
    # Pushed in this order so seq order alone would put WHOLE last.
    await push(client, "g16", "products", [product("WHOLE", title="Sổ tay: uyên trẻ em")])
    await push(client, "g16", "products", [
        product("PART", title="Khuyên trẻ em"),  # "uyen tre em" begins inside "khuyen"
        product("PUNCT", title="Kỷ niệm Điện Biên. 70 năm"),
    ])
    assert await source_ids(client, "g16", "products", q="uyen tre em") == ["WHOLE", "PART"]
    # "dien bien." is the pair "dien bien" once punctuation is a space.
    assert await source_ids(client, "g16", "products", q="dien bien. 70") == ["PUNCT"]


async def test_word_pairs_agree_with_postgresql(hub: Hub, backend: str) -> None:
    """PostgreSQL's rh_word_pairs (migration 0007, behind the GIN index) splits titles exactly
    like hub._phrase.word_pairs, which SQLite uses: otherwise the two databases would rank
    differently and the index would miss titles."""
    if backend != "postgresql":
        pytest.skip("rh_word_pairs is PostgreSQL's")
    titles = [f"a{ch}b {ch}c{ch}{ch} d" for ch in PUNCTUATION]
    titles += ["", "mot", "dien bien: 70 nam", "  hai   tu  ", "quyen tre em (ban 2)",
               "中文 标题", "ក ខ"]
    async with hub.db.session() as session:
        for title in titles:
            got = (await session.execute(sa.text("SELECT rh_word_pairs(:t)"), {"t": title}))
            assert got.scalar_one() == word_pairs(title), title


async def test_every_word_must_match(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [
        product("A", title="Quyền phụ nữ"),
        product("B", title="Quyền trẻ em"),
    ])
    assert await source_ids(client, "g16", "products", q="quyen tre") == ["B"]
    assert set(await source_ids(client, "g16", "products", q="quyen")) == {"A", "B"}


@pytest.mark.parametrize(
    "q, expected",
    [
        ("100%", {"PCT"}),
        ("%", {"PCT"}),
        ("_", {"UNDER"}),
        ("a_b", {"UNDER"}),
        ("x\\y", {"BACKSLASH"}),
        ("\\", {"BACKSLASH"}),
        ("'", {"QUOTE"}),
    ],
)
async def test_like_wildcards_are_literal(
    client: httpx.AsyncClient, q: str, expected: set[str]
) -> None:
    await push(client, "g16", "products", [
        product("PCT", title="Đạt 100% mục tiêu"),
        product("UNDER", title="Mã a_b"),
        product("PLAIN", title="Mã acb 1000 mục tiêu"),
        product("BACKSLASH", title="Đường dẫn x\\y"),
        product("QUOTE", title="Sách 'trích dẫn'"),
    ])
    assert set(await source_ids(client, "g16", "products", q=q)) == expected


async def test_search_combines_with_filters(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [
        product("BOOK", kind="book", title="Quyền trẻ em"),
        product("VIDEO", kind="video", title="Quyền trẻ em (phim)"),
    ])
    assert await source_ids(client, "g16", "products", q="quyen", kind="video") == ["VIDEO"]


@pytest.mark.parametrize("q", ["9786045771235", "978-604-57-7123-5", "ISBN 978-604-57-7123-5"])
async def test_isbn_looks_the_book_up_exactly(client: httpx.AsyncClient, q: str) -> None:
    await push(client, "g16", "products", [
        product("BOOK", isbn="978-604-57-7123-5"),
        product("OTHER", isbn="9786045771242"),
        product("MENTION", description="Xem thêm sách ISBN 9786045771235"),
    ])
    # A valid ISBN is an identifier, not text: only the book that carries it.
    assert await source_ids(client, "g16", "products", q=q) == ["BOOK"]
    # Part of an ISBN is still text, found by substring.
    assert sorted(await source_ids(client, "g16", "products", q="604577123")) == [
        "BOOK", "MENTION"]


async def test_isbn_lookup_follows_updates_and_visibility(client: httpx.AsyncClient) -> None:
    await push(client, "g16", "products", [product("BOOK", isbn="9786045771235")])
    await push(client, "g16", "products", [product("BOOK", isbn="9786045771242")])
    assert await source_ids(client, "g16", "products", q="9786045771235") == []
    assert await source_ids(client, "g16", "products", q="9786045771242") == ["BOOK"]
    await push(client, "g16", "products", [
        product("BOOK", isbn="9786045771242", visibility="private")])
    assert await source_ids(client, "g15", "products", q="9786045771242") == []
    assert await source_ids(client, "g16", "products", q="9786045771242") == ["BOOK"]


async def test_search_patterns_are_planned_with_their_values(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    """The LIKE patterns travel inside the SQL text, not as parameters: PostgreSQL plans a
    prepared statement generically after five runs, blind to the pattern, and a common-word
    search at 1,000,000 records went from 25 ms to 1.6 s on its sixth run (bench/scale)."""
    await push(client, "g16", "products", [product("HR", title="Quyền trẻ em")])
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    sa_event.listen(hub.db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        for _ in range(7):  # past PostgreSQL's five custom plans, on the same connections
            assert await source_ids(client, "g16", "products", q="Quyền trẻ") == ["HR"]
    finally:
        sa_event.remove(hub.db.engine.sync_engine, "before_cursor_execute", capture)
    searches = [(sql, params) for sql, params in sent if "title_folded" in sql]
    assert searches, "no search statement was seen"
    for sql, params in searches:
        assert "'%quyen%'" in sql and "'%tre%'" in sql
        assert not any("quyen" in str(p) for p in _values(params))


def _values(parameters: Any) -> list[Any]:
    if isinstance(parameters, dict):
        return list(parameters.values())
    return list(parameters or ())


@pytest.mark.parametrize("q", ["quyen\x00tre", "quyen\x1btre", "tab\there"])
def test_control_characters_in_search_are_refused(q: str) -> None:
    # REST and GraphQL refuse them at the door; the query layer refuses them too (PostgreSQL
    # cannot hold NUL in text, and the patterns are written into the SQL).
    with pytest.raises(InvalidInput):
        _search(q)
