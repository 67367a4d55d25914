"""The archive duty: state-funded products must have a main file archived within the period
after release (SQLite and PostgreSQL, records pushed through the API, files attached as the
archive attaches them, at the times the test needs)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub import Hub, Record, archive_compliance, duty_products
from hub.archive._duty import status_of
from hub.tables import RecordFile, StoredFile
from tests.api._helpers import assert_problem, product
from tests.conftest import auth

pytestmark = pytest.mark.anyio

TODAY = date.today()
VIETNAM = timezone(timedelta(hours=7))


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


async def _push(client: httpx.AsyncClient, who: str, items: list[dict[str, Any]]) -> None:
    response = await client.post("/v1/products:batch", json={"records": items},
                                 headers=auth(who))
    assert response.status_code == 200, response.text
    assert not response.json()["rejected"], response.text


async def _attach(hub: Hub, source_id: str, on: date, role: str = "main",
                  detached: bool = False) -> None:
    """A file attached on day ``on`` (Vietnam), 23:30 local: late in the day on purpose, so
    a UTC reading of the time would give the day before."""
    at = datetime.combine(on, time(23, 30), VIETNAM).astimezone(UTC)
    sha = uuid.uuid4().hex * 2
    async with hub.db.transaction() as session:
        record_id = (await session.execute(
            sa.select(Record.id).where(Record.source_id == source_id))).scalar_one()
        session.add(StoredFile(sha256=sha, size=10, media_type="application/pdf",
                               created_at=at, last_referenced_at=at))
        await session.flush()
        session.add(RecordFile(
            id=str(uuid.uuid4()), record_id=record_id, sha256=sha, size=10,
            media_type="application/pdf", original_name=f"{source_id}.pdf", language=None,
            role=role, attached_at=at, attached_seq=1, attached_by="test",
            detached_at=at if detached else None, detached_seq=2 if detached else None))


async def _load(client: httpx.AsyncClient, hub: Hub) -> None:
    state = {"funding_source": "state_budget"}
    await _push(client, "g16", [
        product("a1", published_on=ago(300), **state),  # main file 90 days on: in time
        product("a2", published_on=ago(300), **state),  # main file 91 days on: late
        product("a3", published_on=ago(200), **state),  # nothing: overdue
        product("a4", published_on=ago(10), funding_source="local_budget"),  # not yet due
        product("a5", published_on=ago(300), funding_source="sponsorship"),  # no duty
        product("a6", published_on=ago(200), **state),  # a cover only: overdue
        product("a7", published_on=ago(200), **state),  # main detached: overdue
        product("a8", **state),  # no release date: undated
        product("a9", published_on=ago(300), visibility="private", **state),  # overdue
    ])
    # Hà Giang (02) merged into Tuyên Quang (08) on 2025-07-01: its product counts for 08.
    await _push(client, "hg", [product("h1", published_on="2025-03-01", **state)])
    await _attach(hub, "a1", TODAY - timedelta(days=300 - 90))
    await _attach(hub, "a2", TODAY - timedelta(days=300 - 91))
    await _attach(hub, "a6", TODAY - timedelta(days=150), role="cover")
    await _attach(hub, "a7", TODAY - timedelta(days=150), detached=True)


def test_status_boundaries() -> None:
    released = date(2025, 1, 1)
    due = date(2025, 4, 1)  # 90 days on
    assert status_of(released, due, 90, date(2026, 1, 1)) == (due, "on_time")
    assert status_of(released, due + timedelta(days=1), 90, date(2026, 1, 1)) == (due, "late")
    assert status_of(released, None, 90, due) == (due, "not_due")
    assert status_of(released, None, 90, due + timedelta(days=1)) == (due, "overdue")
    assert status_of(None, None, 90, due) == (None, "undated")


async def test_statuses_totals_and_successors(client: httpx.AsyncClient, hub: Hub) -> None:
    await _load(client, hub)
    products = {p.source_id: p for p in await duty_products(hub, today=TODAY)}
    assert "a5" not in products  # sponsorship carries no duty
    assert {k: p.status for k, p in products.items()} == {
        "a1": "on_time", "a2": "late", "a3": "overdue", "a4": "not_due", "a6": "overdue",
        "a7": "overdue", "a8": "undated", "a9": "overdue", "h1": "overdue"}
    assert products["a1"].deposited_on == TODAY - timedelta(days=210)
    assert products["a3"].due_on == TODAY - timedelta(days=110)
    assert products["a3"].days_overdue(TODAY) == 110
    assert products["h1"].agencies == ("08",)
    found = await archive_compliance(hub, today=TODAY)
    t = found.totals
    assert (t.on_time, t.late, t.overdue, t.not_due, t.undated) == (1, 1, 5, 1, 1)
    assert t.on_time_rate == round(100 / 7, 1)
    tq = [r for r in found.rows if r.agency == "08"]
    assert [(r.year, r.overdue, r.total) for r in tq] == [(2025, 1, 1)]
    assert sum(r.total for r in found.trend) == t.total - t.undated
    # A former province asked for by its successor's code.
    only_tq = await archive_compliance(hub, agency="08", today=TODAY)
    assert only_tq.totals.overdue == 1 and only_tq.totals.total == 1


async def test_compliance_and_overdue_over_rest(client: httpx.AsyncClient, hub: Hub) -> None:
    await _load(client, hub)
    body = (await client.get("/v1/programme/archive-compliance",
                             headers=auth("g16"))).json()
    assert body["deposit_days"] == 90
    assert body["totals"]["overdue"] == 5 and body["totals"]["on_time"] == 1
    # Another agency does not see g16's private product.
    other = (await client.get("/v1/programme/archive-compliance", headers=auth("reader"))
             ).json()
    assert other["totals"]["overdue"] == 4
    response = await client.get("/v1/programme/archive-compliance/overdue",
                                params={"agency": "G16"}, headers=auth("g16"))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["source_id"] for i in items] == ["a9", "a3", "a6", "a7"]  # longest first
    assert items[0]["days_overdue"] == 210 and items[0]["status"] == "overdue"
    paged = (await client.get("/v1/programme/archive-compliance/overdue",
                              params={"limit": 1, "offset": 1}, headers=auth("g16"))).json()
    assert paged["total"] == 5 and len(paged["items"]) == 1


async def test_bad_parameters_are_problems(client: httpx.AsyncClient, hub: Hub) -> None:
    url = "/v1/programme/archive-compliance"
    assert_problem(await client.get(url, params={"agency": "NOPE"}, headers=auth("g16")), 400)
    assert_problem(await client.get(url, params={"from": 2026, "to": 2024},
                                    headers=auth("g16")), 400)
    assert_problem(await client.get(url, params={"from": "abc"}, headers=auth("g16")), 400)
    assert_problem(await client.get(f"{url}/overdue", params={"limit": 0},
                                    headers=auth("g16")), 400)
    assert_problem(await client.get(url), 401)
