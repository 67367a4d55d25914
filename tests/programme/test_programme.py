"""Programme progress (Decision 1079 targets) computed from records pushed through the API."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from hub import Hub
from hub._programme import TARGETS, programme_progress
from tests.api._helpers import course, event, product
from tests.conftest import auth

pytestmark = pytest.mark.anyio

TODAY = date(2025, 12, 31)


async def _push(client: httpx.AsyncClient, who: str, record_type: str,
                items: list[dict[str, Any]]) -> None:
    response = await client.post(f"/v1/{record_type}:batch", json={"records": items},
                                 headers=auth(who))
    assert response.status_code == 200, response.text
    assert not response.json()["rejected"], response.text


async def _load(client: httpx.AsyncClient) -> None:
    await _push(client, "g16", "products", [
        product("b1", published_on="2025-03-01"),
        product("b2", kind="ebook", published_on="2025-04-01", edition_format="electronic",
                channels=["website"]),
        product("b3", languages=["hmn"], published_on="2024-05-01"),
        product("v1", kind="video", published_on="2025-05-01", visibility="private"),
        product("p1", kind="poster", published_on="2025-06-01"),
    ])
    # Hà Giang (02) merged into Tuyên Quang (08) on 2025-07-01: its events count for 08.
    await _push(client, "hg", "events", [
        event("ex1", kind="exhibition_domestic", start_date="2025-02-10"),
        event("pb1", start_date="2025-01-15"),
    ])
    await _push(client, "tq", "events", [
        event("pb2", start_date="2025-01-20"),
        event("pb3", start_date="2025-03-05"),
        event("pb4", start_date="2024-03-05"),
    ])
    await _push(client, "g16", "events", [
        # A central agency's exhibition held in a province counts for that province.
        event("ex2", kind="exhibition_domestic", start_date="2025-08-01", province_code="01"),
        event("conf", kind="conference", start_date="2025-08-01", province_code="01"),
    ])
    await _push(client, "tq", "training-courses", [
        course("c1", participants_total=40, participants_by_group={"reporter": 25, "editor": 15}),
        course("c2", participants_by_group={"teacher": 30}),
    ])


async def test_progress_counts_targets_and_rolls_up_former_provinces(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    await _load(client)
    progress = await programme_progress(hub, today=TODAY)
    assert [i.code for i in progress.indicators] == [t.code for t in TARGETS]
    books = progress.indicator("book_titles")
    assert (books.value, books.target) == (3, 1000)
    assert books.achieved is False
    reach = progress.indicator("minority_foreign_digital_share")
    # b2 (website) and b3 (Hmong) of 5 products.
    assert (reach.numerator, reach.denominator, reach.value) == (2, 5, 40.0)
    assert (reach.target, reach.target_max) == (15, 20)
    online = progress.indicator("digitised_online_share")
    # b2 is electronic and on a website; v1 is digital but private.
    assert (online.numerator, online.denominator) == (1, 5)
    assert progress.exhibitions_by_province == {"01": 1, "08": 1}
    assert len(progress.provinces) == 34 and "02" not in progress.provinces
    exhibitions = progress.indicator("provinces_with_exhibition")
    assert (exhibitions.value, exhibitions.target) == (2, 34)
    assert progress.heatmap_year == 2025
    assert progress.press_briefings["08"][:3] == [2, 0, 1]
    assert sum(sum(months) for months in progress.press_briefings.values()) == 3
    assert progress.training.courses == 2
    assert progress.training.participants == 70
    assert progress.training.by_group == {"editor": 15, "reporter": 25, "teacher": 30}


async def test_progress_filters_by_year_and_agency(client: httpx.AsyncClient, hub: Hub) -> None:
    await _load(client)
    in_2024 = await programme_progress(hub, year=2024, today=TODAY)
    assert in_2024.indicator("book_titles").value == 1
    assert in_2024.press_briefings["08"][2] == 1
    assert in_2024.exhibitions_by_province == {}
    # 12 months x 34 provinces, one of them covered.
    coverage = in_2024.indicator("press_briefing_coverage")
    assert (coverage.numerator, coverage.denominator) == (1, 34 * 12)
    # Tuyên Quang's own figures include Hà Giang's, not the other way round.
    tq = await programme_progress(hub, agency="08", year=2025, today=TODAY)
    assert tq.exhibitions_by_province == {"08": 1}
    assert tq.press_briefings["08"][:3] == [2, 0, 1]
    hg = await programme_progress(hub, agency="02", year=2025, today=TODAY)
    assert hg.press_briefings["08"][:3] == [1, 0, 0]
    assert (await programme_progress(hub, agency="G16", today=TODAY)).training.courses == 0


async def test_heat_map_of_all_years_shows_the_latest_year_with_briefings(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    await _load(client)
    # In March 2026 nothing was held yet this year: the map shows 2025, all twelve months.
    progress = await programme_progress(hub, today=date(2026, 3, 10))
    assert progress.heatmap_year == 2025
    coverage = progress.indicator("press_briefing_coverage")
    assert (coverage.numerator, coverage.denominator) == (2, 34 * 12)
    # The current year, asked for: only the months begun so far count.
    current = await programme_progress(hub, year=2026, today=date(2026, 3, 10))
    assert current.indicator("press_briefing_coverage").denominator == 34 * 3


async def test_deleted_records_do_not_count(client: httpx.AsyncClient, hub: Hub) -> None:
    await _load(client)
    response = await client.delete("/v1/products/b1", headers=auth("g16"))
    assert response.status_code in (200, 204), response.text
    progress = await programme_progress(hub, today=TODAY)
    assert progress.indicator("book_titles").value == 2
