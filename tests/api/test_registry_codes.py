"""Province (and agency) codes in records are checked against the dated registry in the one
ingest pipeline: an unknown code is a per-record rejection naming the nearest valid codes; a
former province's code is valid for dates before its merger and, after, is rejected naming
its successor (issue 18)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from hub import Agency, Hub
from hub._registry import AgencyGraph, CodeRegistry, load_registry_seed
from tests.api._helpers import course, event
from tests.conftest import auth

pytestmark = pytest.mark.anyio


async def _batch(
    client: httpx.AsyncClient, record_type: str, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Push ``records`` with one valid companion event (so the batch is partly written)."""
    response = await client.post(
        f"/v1/{record_type}:batch", json={"records": [*records, _valid(record_type)]},
        headers=auth("g16"),
    )
    assert response.status_code == 200, response.text
    summary: dict[str, Any] = response.json()
    assert summary["created"] + summary["unchanged"] >= 1, summary
    return summary


def _valid(record_type: str) -> dict[str, Any]:
    if record_type == "events":
        return event("OK-1", province_code="01")
    return course("OK-1", province_code="01")


def _only(summary: dict[str, Any], source_id: str) -> dict[str, Any]:
    found = [r for r in summary["rejections"] if r["source_id"] == source_id]
    assert len(found) == 1, summary["rejections"]
    return found[0]


async def test_unknown_province_is_rejected_with_the_nearest_codes(
    client: httpx.AsyncClient,
) -> None:
    summary = await _batch(client, "events", [event("E-99", province_code="99",
                                                    start_date="2025-08-01")])
    assert summary["rejected"] == 1 and summary["created"] == 1, summary
    rejection = _only(summary, "E-99")
    assert (rejection["path"], rejection["code"]) == ("province_code", "unknown_code")
    assert rejection["message_vi"].startswith("Mã tỉnh '99' không có trong danh mục; gần nhất: ")
    assert rejection["message_en"].startswith("Province code '99' is not in the registry; "
                                              "nearest: ")
    # Same first digit and smallest edit distance first, only provinces in force, at most 3.
    assert "96 (Cà Mau)" in rejection["message_vi"]
    assert "Cà Mau" in rejection["message_en"]
    assert rejection["message_vi"].count("(") == 3
    assert "95 (Bạc Liêu)" not in rejection["message_vi"]  # merged into Cà Mau on 2025-07-01
    listed = (await client.get("/v1/events", params={"agency": "G16"},
                               headers=auth("g16"))).json()["items"]
    assert [r["source_id"] for r in listed] == ["OK-1"]


async def test_former_province_valid_before_its_merger_and_rejected_after(
    client: httpx.AsyncClient,
) -> None:
    summary = await _batch(client, "events", [
        event("HG-BEFORE", province_code="02", start_date="2025-06-30"),
        event("HG-AFTER", province_code="02", start_date="2025-07-01"),
    ])
    assert summary["created"] == 2 and summary["rejected"] == 1, summary
    rejection = _only(summary, "HG-AFTER")
    assert (rejection["path"], rejection["code"]) == ("province_code", "superseded_code")
    assert "'02' (Hà Giang)" in rejection["message_vi"]
    assert "hãy dùng 08 (Tuyên Quang)" in rejection["message_vi"]
    assert "use 08 (Tuyên Quang)" in rejection["message_en"]
    assert "2025-06-30" in rejection["message_en"]


async def test_a_course_is_checked_on_its_start_else_end_else_today(
    client: httpx.AsyncClient,
) -> None:
    summary = await _batch(client, "training-courses", [
        course("C-START", province_code="06", start_date="2025-05-01"),
        {**course("C-END", province_code="06", end_date="2025-09-01"), "start_date": None},
        {**course("C-NODATE", province_code="06"), "start_date": None},
    ])
    assert summary["created"] == 2, summary
    assert {r["source_id"] for r in summary["rejections"]} == {"C-END", "C-NODATE"}
    assert all(r["code"] == "superseded_code" and "19 (Thái Nguyên)" in r["message_vi"]
               for r in summary["rejections"])


async def test_a_name_instead_of_a_code_gets_the_code_named(client: httpx.AsyncClient) -> None:
    summary = await _batch(client, "events", [
        event("BY-NAME", province_code="Ha Giang", start_date="2025-03-01"),
    ])
    rejection = _only(summary, "BY-NAME")
    assert rejection["path"] == "province_code"
    assert "gần nhất: 02 (Hà Giang)" in rejection["message_vi"]
    assert "nearest: 02 (Hà Giang)" in rejection["message_en"]


async def test_ndjson_and_graphql_check_the_registry_too(client: httpx.AsyncClient) -> None:
    lines = [event("N-99", province_code="99"), event("N-OK", province_code="08")]
    response = await client.post(
        "/v1/events:batch", content=b"\n".join(orjson.dumps(x) for x in lines),
        headers={**auth("g16"), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["created"] == 1
    assert [(r["index"], r["code"]) for r in summary["rejections"]] == [(1, "unknown_code")]

    mutation = """mutation($records: [EventInput!]!) {
      upsertEvents(records: $records) { created rejected rejections { path code messageEn } }
    }"""
    record = {"sourceId": "G-99", "kind": "press_briefing", "title": "Họp báo",
              "startDate": "2025-08-01", "provinceCode": "99"}
    answer = await client.post("/graphql", json={"query": mutation,
                                                 "variables": {"records": [record]}},
                               headers=auth("g16"))
    result = answer.json()["data"]["upsertEvents"]
    assert result["created"] == 0 and result["rejected"] == 1, result
    assert result["rejections"][0]["code"] == "unknown_code"
    assert "nearest: 96 (Cà Mau)" in result["rejections"][0]["messageEn"]


async def test_the_registry_is_cached_and_reloaded_when_invalidated(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    before = await _batch(client, "events", [event("E-NEW", province_code="99")])
    assert before["rejected"] == 1
    async with hub.db.transaction() as session:
        session.add(Agency(code="99", name="Tỉnh thử nghiệm", kind="province",
                           level="provincial", valid_from=None, valid_until=None, note=None))
    try:
        cached = await _batch(client, "events", [event("E-NEW", province_code="99")])
        assert cached["rejected"] == 1  # the process's copy until the registry reloads
        hub.catalog.invalidate()
        after = await _batch(client, "events", [event("E-NEW", province_code="99")])
        assert after["rejected"] == 0 and after["created"] == 1, after  # E-NEW
    finally:
        async with hub.db.transaction() as session:
            await session.execute(sa.delete(Agency).where(Agency.code == "99"))
        hub.catalog.invalidate()


def _graph() -> CodeRegistry:
    seed = load_registry_seed()
    agencies = {a["code"]: Agency(**a) for a in seed.agencies}
    preds: dict[str, set[str]] = {}
    succs: dict[str, set[str]] = {}
    for pred, succ, _, _ in seed.successions:
        preds.setdefault(succ, set()).add(pred)
        succs.setdefault(pred, set()).add(succ)
    return CodeRegistry(AgencyGraph(
        agencies, {k: frozenset(v) for k, v in preds.items()},
        {k: frozenset(v) for k, v in succs.items()},
    ))


def test_nearest_codes_and_names() -> None:
    registry = _graph()
    after, before = date(2025, 8, 1), date(2025, 1, 1)
    assert [a.code for a in registry.nearest("provincial", "99", after)] == ["96", "92", "91"]
    assert [a.code for a in registry.nearest("provincial", "99", before)] == ["96", "95", "94"]
    # Names without diacritics, "Thành phố" left out; only units in force on the day.
    assert registry.nearest("provincial", "ha noi", after)[0].code == "01"
    assert registry.nearest("provincial", "hà giang", before)[0].code == "02"
    assert registry.nearest("provincial", "Hồ Chí Minh", after)[0].code == "79"
    assert registry.check("provincial", "79", before) is None
    assert registry.check("provincial", "74", before) is None  # Bình Dương until 2025-06-30
    superseded = registry.check("provincial", "74", after)
    assert superseded is not None and "79 (Thành phố Hồ Chí Minh)" in superseded.message_en
    # A central agency's code is not a province code.
    wrong_level = registry.check("provincial", "G16", after)
    assert wrong_level is not None and wrong_level.code == "unknown_code"
