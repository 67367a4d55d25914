"""Properties of text normalisation, content hashing and the one ingest pipeline.

The pure properties run on generated text and records; the pipeline properties go through
``hub.ingest.ingest`` on the migrated SQLite and PostgreSQL databases of the ``hub`` fixture,
which is shared by every example of a test (each example cleans the data tables first).
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas
from hub import Hub, ImportSummary, Principal, Record, list_changes
from hub._prepare import PreparedBatch, prepare
from tests.conftest import ALL, _clean

PURE_EXAMPLES = 200
DB_EXAMPLES = 15  # each example is several transactions on a real database

VOCABULARIES = schemas.vocabulary_codes()
PRODUCTS = schemas.RECORD_TYPES["products"]
WRITER = Principal("client-g16", "G16", frozenset(ALL))

# Vietnamese letters in NFC (precomposed), with the combining marks that NFD splits off.
VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    "áàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
    "ĐÁÀẢÃẠĂẮẰẲẴẶÂẤẦẨẪẬÊẾỀỂỄỆÔỐỒỔỖỘƠỚỜỞỠỢƯỨỪỬỮỰ"
)
words = st.text(alphabet=VIETNAMESE, min_size=1, max_size=8)
vietnamese_text = st.lists(words, min_size=1, max_size=6).map(" ".join)
# Any text at all, combining marks and exotic scripts included, for the normalisers.
any_text = st.text(max_size=40)

db_settings = settings(
    max_examples=DB_EXAMPLES,
    deadline=None,
    # The hub fixture is deliberately shared by the examples; each one cleans the tables.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- normalisation -----------------------------------------------------------------------


@settings(max_examples=PURE_EXAMPLES)
@given(any_text)
def test_nfc_is_idempotent(text: str) -> None:
    once = schemas.nfc(text)
    assert schemas.nfc(once) == once
    assert schemas.nfc(nfd(text)) == once


@settings(max_examples=PURE_EXAMPLES)
@given(st.one_of(any_text, vietnamese_text))
def test_fold_of_fold_is_fold(text: str) -> None:
    once = schemas.fold(text)
    assert schemas.fold(once) == once


@settings(max_examples=PURE_EXAMPLES)
@given(vietnamese_text)
def test_fold_ignores_normal_form_and_diacritics(text: str) -> None:
    folded = schemas.fold(text)
    assert schemas.fold(nfd(text)) == folded == schemas.fold(schemas.nfc(text))
    assert folded.isascii() and folded == folded.lower()


# --- content hash ------------------------------------------------------------------------


@st.composite
def products(draw: st.DrawFn, source_id: str | None = None) -> dict[str, Any]:
    """A valid product in NFC, with optional fields drawn independently."""
    record: dict[str, Any] = {
        "source_id": source_id or draw(st.from_regex(r"[A-Z]{1,3}-[0-9]{1,4}", fullmatch=True)),
        "kind": draw(st.sampled_from(sorted(VOCABULARIES["product_kind"] - {"mooc_lesson"}))),
        "title": schemas.nfc(draw(vietnamese_text)),
    }
    optional = {
        "subtitle": vietnamese_text.map(schemas.nfc),
        "description": vietnamese_text.map(schemas.nfc),
        "authors": st.lists(vietnamese_text.map(schemas.nfc), max_size=3),
        "languages": st.lists(st.sampled_from(["vie", "eng", "hmn", "tyz"]), max_size=3,
                              unique=True),
        "themes": st.lists(st.sampled_from(sorted(VOCABULARIES["theme"])), max_size=3,
                           unique=True),
        "publication_year": st.integers(1945, 2030),
        "page_count": st.integers(0, 2000),
        "visibility": st.sampled_from(["private", "shared", "public"]),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            record[name] = draw(strategy)
    return record


def reshape(record: dict[str, Any], rnd: random.Random) -> dict[str, Any]:
    """The same content, keys shuffled and every string in NFD."""

    def deep(value: Any) -> Any:
        if isinstance(value, str):
            return nfd(value)
        if isinstance(value, list):
            return [deep(v) for v in value]
        return value

    keys = list(record)
    rnd.shuffle(keys)
    return {k: deep(record[k]) for k in keys}


def prepared_hash(record: dict[str, Any]) -> str:
    prepared, rejections = prepare(PRODUCTS, [record], VOCABULARIES)
    assert not rejections, rejections
    return prepared[0].content_hash


@settings(max_examples=PURE_EXAMPLES)
@given(products(), st.randoms(use_true_random=False))
def test_content_hash_ignores_key_order_and_normal_form(
    record: dict[str, Any], rnd: random.Random
) -> None:
    first = prepared_hash(record)
    assert prepared_hash(record) == first
    assert prepared_hash(reshape(record, rnd)) == first


@settings(max_examples=PURE_EXAMPLES)
@given(products(), products())
def test_content_hash_tells_different_content_apart(
    a: dict[str, Any], b: dict[str, Any]
) -> None:
    b = {**b, "source_id": a["source_id"]}
    same = PRODUCTS.model.model_validate(a) == PRODUCTS.model.model_validate(b)
    assert (prepared_hash(a) == prepared_hash(b)) == same


# --- preparing in slices ------------------------------------------------------------------

# Items a batch may hold: valid products (some sharing a source_id), deletes, and items the
# standard refuses (not an object, a bad _op, a broken field).
batch_items = st.lists(
    st.one_of(
        products(source_id="DUP-1"),
        products(),
        st.builds(lambda sid: {"source_id": sid, "_op": "delete"},
                  st.sampled_from(["DUP-1", "D-2"])),
        st.sampled_from([[], "chuỗi", {"source_id": "X-1", "_op": "merge"},
                         {"source_id": "X-2", "kind": "book", "title": ""}]),
    ),
    max_size=12,
)


@settings(max_examples=PURE_EXAMPLES)
@given(batch_items, st.lists(st.integers(0, 12), max_size=4))
def test_preparing_in_slices_equals_preparing_at_once(
    items: list[Any], cuts: list[int]
) -> None:
    """The pipeline validates a batch a slice at a time (``hub._ingest._prepare``); where the
    slices fall changes nothing: the same items kept, the same rejections at the same
    positions, a repeated source_id refused even when its first use is in an earlier slice."""
    whole = prepare(PRODUCTS, items, VOCABULARIES, indexes=[100 + i for i in range(len(items))])
    batch = PreparedBatch(PRODUCTS, VOCABULARIES)
    bounds = sorted({0, len(items), *(min(c, len(items)) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        batch.add(items[start:end], indexes=[100 + i for i in range(start, end)])
    assert (batch.prepared, batch.rejections) == whole
    for item in batch.prepared:  # the encoded data the rows take is the item's data
        assert orjson.loads(orjson.dumps(item.data_json)) == (item.data if item.op == "upsert"
                                                              else {})
    positions = [p.index for p in whole[0]] + [r.index for r in whole[1]]
    assert set(positions) <= {100 + i for i in range(len(items))}


# --- the pipeline on the database --------------------------------------------------------


async def ingest(hub: Hub, items: list[dict[str, Any]]) -> ImportSummary:
    summary = await hub.ingest.ingest(WRITER, "products", items)
    assert isinstance(summary, ImportSummary)
    assert not summary.rejections, summary.rejections
    return summary


async def stored(hub: Hub) -> dict[str, tuple[int, str, bool, dict[str, Any] | None]]:
    """source_id -> (version, content_hash, deleted, data) of G16's products."""
    async with hub.db.session() as session:
        rows = (
            await session.execute(
                sa.select(Record).where(
                    Record.owner_agency == "G16", Record.record_type == "products"
                )
            )
        ).scalars()
        return {
            r.source_id: (r.version, r.content_hash, r.deleted, None if r.deleted else r.data)
            for r in rows
        }


async def change_count(hub: Hub) -> int:
    async with hub.db.session() as session:
        return (await session.execute(sa.text("SELECT count(*) FROM record_changes"))).scalar_one()


@pytest.mark.anyio
@db_settings
@given(products(), st.integers(0, 2**32), st.integers(1, 3))
async def test_same_content_never_bumps_the_version(
    hub: Hub, record: dict[str, Any], seed: int, repeats: int
) -> None:
    # A seeded Random, not st.randoms(): a lazy draw inside an async test would raise
    # Hypothesis' StopTest through anyio's runner task.
    rnd = random.Random(seed)
    await _clean(hub)
    first = await ingest(hub, [record])
    assert first.created == 1
    before = await stored(hub)
    changes = await change_count(hub)
    for _ in range(repeats):
        again = await ingest(hub, [reshape(record, rnd)])
        assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert await stored(hub) == before
    assert await change_count(hub) == changes
    (version, _, _, _) = before[record["source_id"]]
    assert version == 1


SOURCE_IDS = [f"P-{i}" for i in range(5)]
TITLES = ["Quyền con người", "Quyền trẻ em", "Hiến pháp"]


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, dict[str, Any]]]:
    """A sequence of batches over a few source_ids: each item an upsert of new or repeated
    content, or a delete (of a record that may be missing or already deleted)."""
    result = []
    for _ in range(draw(st.integers(1, 6))):
        chosen = draw(st.lists(st.sampled_from(SOURCE_IDS), min_size=1, max_size=4, unique=True))
        batch = {}
        for source_id in chosen:
            if draw(st.integers(0, 3)) == 0:
                batch[source_id] = {"source_id": source_id, "_op": "delete"}
            else:
                # A small title pool, so that repeated content (unchanged) happens often.
                batch[source_id] = {
                    "source_id": source_id,
                    "kind": "book",
                    "title": draw(st.sampled_from(TITLES)),
                    "visibility": draw(st.sampled_from(["private", "shared"])),
                }
        result.append(batch)
    return result


async def replay(hub: Hub) -> dict[str, tuple[int, str, bool, dict[str, Any] | None]]:
    """Rebuild G16's products from the change feed, from cursor 0, page by page."""
    state: dict[str, tuple[int, str, bool, dict[str, Any] | None]] = {}
    graph = await hub.catalog.agencies()
    after, last_seq = 0, 0
    while True:
        async with hub.db.session() as session:
            page = await list_changes(session, WRITER, graph, after=after, limit=3)
        for change in page.changes:
            assert change["seq"] > last_seq  # commit order, no repeats
            last_seq = change["seq"]
            record = change["record"]
            if record["owner_agency"] != "G16" or record["type"] != "products":
                continue
            previous = state.get(record["source_id"])
            assert record["version"] == (previous[0] + 1 if previous else 1)
            deleted = change["op"] == "delete"
            state[record["source_id"]] = (
                record["version"], record["content_hash"], deleted,
                None if deleted else record["data"],
            )
        after = page.next_cursor
        if not page.has_more:
            return state


@pytest.mark.anyio
@db_settings
@given(batches())
async def test_change_feed_replay_reproduces_current_state(
    hub: Hub, sequence: list[dict[str, dict[str, Any]]]
) -> None:
    await _clean(hub)
    existing: dict[str, bool] = {}  # source_id -> deleted
    for batch in sequence:
        items = [
            item for source_id, item in batch.items()
            # Deleting a record that never existed is a rejection, not a change.
            if item.get("_op") != "delete" or source_id in existing
        ]
        if items:
            await ingest(hub, items)
        for item in items:
            existing[item["source_id"]] = item.get("_op") == "delete"
    current = await stored(hub)
    assert {k: v[2] for k, v in current.items()} == existing
    assert await replay(hub) == current
