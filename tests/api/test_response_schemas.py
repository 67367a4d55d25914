"""Response bodies match the documented schemas (schemas.RecordEnvelope, ImportSummary and
the gateway's wire models), for every record family."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import schemas
from gateway._wire import ChangePage, Problem, RecordPage
from tests.api._helpers import assert_problem, course, event, product
from tests.conftest import auth

pytestmark = pytest.mark.anyio

SAMPLES: dict[str, dict[str, Any]] = {
    "products": product("S-1", isbn="978-604-57-0000-6", published_on="2025-01-02",
                        links=[{"url": "https://example.org/sach", "label": "Bản điện tử"}],
                        channels=["website"], target_groups=["reporter"]),
    "events": event("S-1", province_code="08", participants=120, end_date="2025-06-02"),
    "training-courses": course("S-1", participants_total=40,
                               participants_by_group={"police": 25, "reporter": 15},
                               materials=[{"kind": "framework", "title": "Tài liệu khung"}]),
    "awards": {"source_id": "S-1", "kind": "contest", "title": "Cuộc thi", "year": 2025},
    "plans": {"source_id": "S-1", "title": "Kế hoạch", "year_from": 2024, "year_to": 2028,
              "targets": [{"indicator": "Đầu sách", "value": 1000, "unit": "đầu sách"}]},
    "budgets": {"source_id": "S-1", "title": "Dự toán", "year": 2025,
                "amount_vnd": 1_500_000_000, "items": [{"title": "In", "amount_vnd": 1}]},
    "reports": {"source_id": "S-1", "kind": "annual", "title": "Báo cáo năm",
                "period_start": "2025-01-01", "period_end": "2025-12-31",
                "figures": {"books": 12, "share": 0.15}},
}


def test_every_record_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(schemas.RECORD_TYPES)


def _check_envelope(body: dict[str, Any], record_type: str, source_id: str,
                    agency: str) -> schemas.RecordEnvelope:
    env = schemas.RecordEnvelope.model_validate(body)
    assert env.type == record_type
    assert env.source_id == source_id
    assert env.owner_agency == agency
    now = datetime.now(UTC)
    assert env.created_at.tzinfo is not None and env.updated_at.tzinfo is not None
    assert now - timedelta(minutes=5) < env.created_at <= env.updated_at <= now
    assert env.content_hash == body["content_hash"]
    # The stored data validates against the record type's input model again.
    if not env.deleted:
        schemas.RECORD_TYPES[record_type].model.model_validate(
            {**env.data, "source_id": env.source_id, "visibility": env.visibility}
        )
    return env


@pytest.mark.parametrize("record_type", sorted(SAMPLES))
async def test_put_get_list_batch_match_schemas(
    client: httpx.AsyncClient, record_type: str
) -> None:
    sample = SAMPLES[record_type]
    put = await client.put(f"/v1/{record_type}/S-1", json=sample, headers=auth("g16"))
    assert put.status_code == 201, put.text
    assert put.headers["content-type"] == "application/json"
    _check_envelope(put.json(), record_type, "S-1", "G16")

    got = await client.get(f"/v1/{record_type}/S-1", headers=auth("g15"),
                           params={"agency": "G16"})
    assert got.status_code == 200
    env = _check_envelope(got.json(), record_type, "S-1", "G16")
    assert env.provenance.channel == "push" and env.provenance.batch

    batch = await client.post(
        f"/v1/{record_type}:batch",
        json={"records": [{**sample, "source_id": "S-2"}, {"source_id": "S-1", "_op": "delete"},
                          {"source_id": "S-3", "title": ""}]},
        headers=auth("g16"),
    )
    assert batch.status_code == 200
    summary = schemas.ImportSummary.model_validate(batch.json())
    assert (summary.created, summary.deleted, summary.rejected) == (1, 1, 1)
    assert summary.dry_run is False
    assert summary.rejections[0].index == 2

    listed = await client.get(f"/v1/{record_type}", params={"include_deleted": "true"},
                              headers=auth("g16"))
    page = RecordPage.model_validate(listed.json())
    assert page.next_cursor is None
    assert [i.source_id for i in page.items] == ["S-1", "S-2"]
    for item in listed.json()["items"]:
        _check_envelope(item, record_type, item["source_id"], "G16")
    tomb = page.items[0]
    assert tomb.deleted is True and tomb.data == {} and tomb.version == 2


async def test_change_feed_matches_schema(client: httpx.AsyncClient) -> None:
    await client.put("/v1/products/F-1", json=product("F-1"), headers=auth("g16"))
    await client.put("/v1/events/F-2", json=event("F-2"), headers=auth("g16"))
    await client.delete("/v1/products/F-1", headers=auth("g16"))
    response = await client.get("/v1/changes", params={"after": "0"}, headers=auth("g16"))
    page = ChangePage.model_validate(response.json())
    assert [c.op for c in page.changes] == ["upsert", "upsert", "delete"]
    seqs = [c.seq for c in page.changes]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert page.next_cursor == str(seqs[-1]) and page.has_more is False
    assert page.changes[2].record.deleted is True and page.changes[2].record.version == 2
    only_events = await client.get("/v1/changes", params={"after": "0", "type": "events"},
                                   headers=auth("g16"))
    assert [c["record"]["source_id"] for c in only_events.json()["changes"]] == ["F-2"]
    resumed = await client.get("/v1/changes", params={"after": page.next_cursor},
                               headers=auth("g16"))
    assert resumed.json()["changes"] == []
    assert resumed.json()["next_cursor"] == page.next_cursor


async def test_problem_matches_schema(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/products/NONE", headers={**auth("g16"),
                                                               "X-Request-ID": "req-123"})
    body = assert_problem(response, 404)
    problem = Problem.model_validate(body)
    assert problem.instance == "/v1/products/NONE"
    assert problem.request_id == "req-123" == response.headers["x-request-id"]


async def test_dry_run_summary_matches_schema(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/products:batch", params={"dryRun": "true"},
                                 json={"records": [product("DR-1")]}, headers=auth("g16"))
    summary = schemas.ImportSummary.model_validate(response.json())
    assert summary.dry_run is True and summary.created == 1
