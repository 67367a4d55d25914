"""Retries, Retry-After, deadlines and pagination tokens (a mock transport is enough here;
the sync tests run against the real simulator)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from connectors import Pagination, RetryPolicy, StreamConfig
from connectors._http import (
    ConnectorError,
    RetriableStatus,
    classify,
    retry_after_seconds,
    with_retries,
)
from connectors._pages import next_token, request_for

pytestmark = pytest.mark.anyio
POLICY = RetryPolicy(initial_seconds=0.01, max_seconds=0.05, attempts=6, deadline_seconds=5)


def _client(answers: list[httpx.Response | Exception]) -> tuple[httpx.AsyncClient, list[int]]:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        answer = answers[min(len(calls) - 1, len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.AsyncClient(transport=httpx.MockTransport(handler),
                             base_url="http://agency.test"), calls


async def _get(client: httpx.AsyncClient) -> httpx.Response:
    response = await client.get("/x")
    classify(response)
    return response


async def test_transient_failures_are_retried() -> None:
    client, calls = _client([httpx.Response(503), httpx.ConnectError("refused"),
                             httpx.Response(502), httpx.Response(200, json={"ok": 1})])
    retried: list[BaseException] = []
    response = await with_retries(POLICY, lambda: _get(client), on_retry=retried.append)
    assert response.json() == {"ok": 1}
    assert len(calls) == 4 and len(retried) == 3


async def test_retry_after_is_honoured() -> None:
    client, calls = _client([httpx.Response(429, headers={"Retry-After": "1"}),
                             httpx.Response(200)])
    started = time.monotonic()
    await with_retries(POLICY, lambda: _get(client))
    assert time.monotonic() - started >= 0.95
    assert len(calls) == 2


async def test_other_client_errors_are_fatal_at_once() -> None:
    client, calls = _client([httpx.Response(404, text="không có"), httpx.Response(200)])
    with pytest.raises(ConnectorError) as caught:
        await with_retries(POLICY, lambda: _get(client))
    assert not caught.value.retriable and "404" in caught.value.message_en
    assert len(calls) == 1


async def test_the_deadline_stops_retrying() -> None:
    client, calls = _client([httpx.Response(503)])
    policy = RetryPolicy(initial_seconds=0.05, max_seconds=0.1, attempts=50,
                         deadline_seconds=0.4)
    started = time.monotonic()
    with pytest.raises(RetriableStatus):
        await with_retries(policy, lambda: _get(client))
    assert time.monotonic() - started < 2
    assert 2 < len(calls) < 50


async def test_a_passing_500_is_retried() -> None:
    client, calls = _client([httpx.Response(500), httpx.Response(200, json={"ok": 1})])
    assert (await with_retries(POLICY, lambda: _get(client))).json() == {"ok": 1}
    assert len(calls) == 2


async def test_500_is_retried_a_bounded_number_of_times() -> None:
    client, calls = _client([httpx.Response(500)])
    with pytest.raises(RetriableStatus) as caught:
        await with_retries(POLICY, lambda: _get(client))
    assert caught.value.status == 500
    assert len(calls) == POLICY.server_error_attempts == 3  # not POLICY.attempts (6)


async def test_a_retry_after_beyond_the_cap_stops_instead_of_calling_early() -> None:
    client, calls = _client([httpx.Response(429, headers={"Retry-After": "30"}),
                             httpx.Response(200)])
    policy = RetryPolicy(initial_seconds=0.01, max_seconds=0.05, attempts=6,
                         deadline_seconds=60, max_retry_after_seconds=5)
    started = time.monotonic()
    with pytest.raises(RetriableStatus):
        await with_retries(policy, lambda: _get(client))
    assert len(calls) == 1 and time.monotonic() - started < 2


async def test_an_http_date_retry_after_is_waited_out() -> None:
    when = datetime.now(UTC) + timedelta(seconds=2)
    client, calls = _client([httpx.Response(429, headers={
        "Retry-After": format_datetime(when, usegmt=True)}), httpx.Response(200)])
    await with_retries(POLICY, lambda: _get(client))
    assert len(calls) == 2
    # The second call came no sooner than the date (to its whole second, as HTTP-dates are).
    assert datetime.now(UTC) >= when.replace(microsecond=0)


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True),
                               now=now) == 30
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def _stream(style: str, **paging: object) -> StreamConfig:
    return StreamConfig.model_validate({
        "name": "s", "record_type": "products", "path": "/r",
        "pagination": {"style": style, "page_size": 2, **paging},
        "incremental": {"since_param": "since", "cursor_field": "t"},
        "mapping": {"source_id": "id", "fields": {"title": {"from": "t"}}},
    })


def test_tokens_per_pagination_style() -> None:
    two, one = [{"id": 1}, {"id": 2}], [{"id": 3}]
    response = httpx.Response(200, request=httpx.Request("GET", "http://a.test/r?page=1"),
                              headers={"Link": '</r?cursor=abc>; rel="next"'})
    page, offset = Pagination(style="page", page_size=2), Pagination(style="offset",
                                                                     page_size=2)
    assert next_token(page, None, two, {}, response) == 2
    assert next_token(page, 2, one, {}, response) is None
    assert next_token(offset, 4, two, {}, response) == 6
    cursor = Pagination(style="cursor", page_size=2)
    assert next_token(cursor, None, two, {"next_cursor": "c2"}, response) == "c2"
    assert next_token(cursor, "c2", two, {"next_cursor": "c2"}, response) is None  # no loop
    link = Pagination(style="link", page_size=2)
    assert next_token(link, None, two, {}, response) == "http://a.test/r?cursor=abc"
    elsewhere = httpx.Response(200, request=httpx.Request("GET", "http://a.test/r"),
                               headers={"Link": '<http://evil.test/r>; rel="next"'})
    with pytest.raises(ConnectorError):
        next_token(link, None, two, {}, elsewhere)
    # Anchored (ordered by the key, the default): the token is the page inside the run of
    # records at the anchor, from the first page; walked: the page number itself.
    path, params = request_for(_stream("page"), 2, "2026-01-01")
    assert (path, params) == ("/r", {"since": "2026-01-01", "page_size": 2, "page": 3})
    assert request_for(_stream("offset"), 2, "x")[1] == {"since": "x", "page_size": 2,
                                                        "offset": 4}
    walked = _stream("page").model_copy(update={"incremental": _stream("page").incremental
                                                .model_copy(update={"ordered": False})})
    assert request_for(walked, 3, "2026-01-01")[1]["page"] == 3
