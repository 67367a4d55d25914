"""Paging through an agency endpoint: one small function pair per pagination style.

A token says where the next request starts (a page number, an offset, a cursor, a next URL);
``None`` means "from the start". :func:`next_token` is pure, so the checkpoint can store the
token and a resumed run asks for exactly the page that was not committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from connectors._config import Pagination, StreamConfig
from connectors._http import ConnectorError
from connectors._mapping import get_path

Token = int | str | None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_token: Token  # None: this was the last page


def request_for(
    stream: StreamConfig, token: Token, since: Any, *, page_size: int | None = None,
    extra: dict[str, str] | None = None,
) -> tuple[str, dict[str, str | int]]:
    """(URL or path, query parameters) of the page starting at ``token``. For an anchored
    walk (``stream.anchored``) the token is the page's index inside the run of records at
    ``since``; ``page_size`` and ``extra`` are a key-only sweep's."""
    p = stream.pagination
    if page_size is not None:
        p = p.model_copy(update={"page_size": page_size})
    params: dict[str, str | int] = {**stream.params, **(extra or {})}
    if stream.incremental is not None and since is not None:
        params[stream.incremental.since_param] = str(since)
    if stream.anchored:
        index = token if isinstance(token, int) else 0
        if p.size_param:
            params[p.size_param] = p.page_size
        if p.style == "page":
            params[p.page_param] = p.first_page + index
        else:
            params[p.offset_param] = index * p.page_size
        return stream.path, params
    if p.style == "link" and isinstance(token, str):
        return token, {}  # the server's next link carries every parameter
    if p.size_param and p.style != "none":
        params[p.size_param] = p.page_size
    if p.style == "page":
        params[p.page_param] = token if isinstance(token, int) else p.first_page
    elif p.style == "offset":
        params[p.offset_param] = token if isinstance(token, int) else 0
    elif p.style == "cursor" and token is not None:
        params[p.cursor_param] = str(token)
    return stream.path, params


def records_of(stream: StreamConfig, body: Any) -> list[dict[str, Any]]:
    found: Any
    if stream.records_path:
        found = get_path(body, stream.records_path) if isinstance(body, dict) else None
    elif isinstance(body, list):
        found = body
    else:
        found = body.get("items") if isinstance(body, dict) else None
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        raise ConnectorError(
            "Trả lời của hệ thống cơ quan không có danh sách bản ghi ở vị trí đã cấu hình.",
            "The agency's answer has no list of records where the stream says.",
        )
    return found


def next_token(
    p: Pagination, token: Token, items: list[dict[str, Any]], body: Any,
    response: httpx.Response,
) -> Token:
    """Where the next page starts, or None after the last page."""
    if p.style == "none" or not items:
        return None
    if p.style == "page":
        if len(items) < p.page_size:
            return None
        return (token if isinstance(token, int) else p.first_page) + 1
    if p.style == "offset":
        if len(items) < p.page_size:
            return None
        return (token if isinstance(token, int) else 0) + len(items)
    if p.style == "cursor":
        nxt = get_path(body, p.next_cursor_path) if isinstance(body, dict) else None
        if nxt in (None, "") or nxt == token:  # a repeated token would loop for ever
            return None
        return str(nxt)
    link = response.links.get("next", {}).get("url")  # RFC 8288
    if not link or link == token:
        return None
    url = response.url.join(link)
    if (url.scheme, url.host, url.port) != (response.url.scheme, response.url.host,
                                            response.url.port):
        # A next link elsewhere would make the connector call a host nobody configured.
        raise ConnectorError("Liên kết trang sau trỏ sang máy chủ khác.",
                             "The next-page link points to another server.")
    return str(url)
