"""Shared helpers of the REST API tests: record builders and problem-details checks."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import auth

PROBLEM_KEYS = ("type", "title", "status", "detail", "detail_vi", "detail_en")


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with ``status`` and both languages filled in."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), (
        response.headers.get("content-type")
    )
    body = response.json()
    for key in PROBLEM_KEYS:
        assert key in body, f"{key} missing from {body}"
    assert body["status"] == status
    assert body["type"].startswith("urn:rightshub:problem:")
    for key in ("title", "detail", "detail_vi", "detail_en"):
        assert isinstance(body[key], str) and body[key].strip(), (key, body)
    return body


def assert_batch_rejected(response: httpx.Response) -> dict[str, Any]:
    """``response`` is the 422 of a batch that wrote nothing: a problem carrying the import
    summary (status "rejected"); returns the summary."""
    body = assert_problem(response, 422)
    assert body["type"] == "urn:rightshub:problem:batch-rejected", body
    summary: dict[str, Any] = body["summary"]
    assert summary["status"] == "rejected" and summary["rejected"] >= 1, summary
    assert summary["created"] == summary["updated"] == summary["deleted"] == 0, summary
    assert summary["unchanged"] == 0, summary
    return summary


def product(source_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "kind": "book",
        "title": f"Sách {source_id}",
        "languages": ["vie"],
        "themes": ["vn_policy_law"],
        **extra,
    }


def event(source_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "kind": "press_briefing",
        "title": f"Họp báo {source_id}",
        "start_date": "2025-06-01",
        **extra,
    }


def course(source_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "title": f"Lớp tập huấn {source_id}",
        "form": "in_person",
        "start_date": "2025-05-01",
        **extra,
    }


async def push(
    client: httpx.AsyncClient, caller: str, record_type: str, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Batch-upsert ``records`` as ``caller``; every record must be accepted."""
    response = await client.post(
        f"/v1/{record_type}:batch", json={"records": records}, headers=auth(caller)
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["rejected"] == 0, summary["rejections"]
    return summary


async def list_all(
    client: httpx.AsyncClient, caller: str, record_type: str, **params: Any
) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"/v1/{record_type}", params=query, headers=auth(caller))
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("pagination did not end")


async def source_ids(
    client: httpx.AsyncClient, caller: str, record_type: str, **params: Any
) -> list[str]:
    return [item["source_id"] for item in await list_all(client, caller, record_type, **params)]
