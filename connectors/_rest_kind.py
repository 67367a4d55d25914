"""The REST kind: a generic REST/JSON agency API (:class:`connectors._config.RestConfig`), its
streams pulled page by page (``connectors._rest_stream``), checked on the first stream and
previewed with a data-quality report per field. Registered with the connector kinds when
this module is imported (``connectors/__init__``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from connectors._config import RestConfig
from connectors._http import ConnectorError, classify, with_retries
from connectors._kinds import ConnectorKind, register_kind
from connectors._legacy_text import detect_legacy
from connectors._mapping import apply_mapping, get_path
from connectors._pages import records_of, request_for
from connectors._rest_stream import run_rest_stream
from connectors._runs import Connection, RunContext
from connectors._service import check_http
from hub import Hub, ImportSummary

PREVIEW_EXAMPLES = 3


async def run(ctx: RunContext, full: bool) -> None:
    config = ctx.conn.config
    assert isinstance(config, RestConfig)
    async with ctx.conn.client(ctx.hub.settings) as client:
        for index in range(len(config.streams)):
            await run_rest_stream(ctx, client, index, full=full)


async def check(hub: Hub, conn: Connection) -> dict[str, Any]:
    """The token, then one record of the first stream."""
    config = conn.config
    assert isinstance(config, RestConfig)
    stream = config.streams[0]
    url, params = request_for(stream, None, None)
    if stream.pagination.size_param:
        params[stream.pagination.size_param] = 1
    return await check_http(hub, conn, url, params)


async def preview(hub: Hub, conn: Connection) -> dict[str, Any]:
    """Map the first page of each stream and validate it (a dry run: nothing is written);
    per field, how many records filled it and what went wrong, with examples."""
    config = conn.config
    assert isinstance(config, RestConfig)
    streams = []
    async with conn.client(hub.settings) as client:
        for stream in config.streams:
            url, params = request_for(stream, None, None)

            async def fetch(url: str = url, params: dict[str, Any] = params) -> httpx.Response:
                response = await client.get(url, params=params or None)
                classify(response)
                return response

            first = await with_retries(config.retry, fetch)
            body = first.json()
            raw = records_of(stream, body)
            mapped = [apply_mapping(stream.mapping, r, updated_at_from=stream.updated_at_from)
                      for r in raw]
            items = [m.item for m in mapped if m.item is not None]
            warnings = _legacy_left(items)
            served = await _served_per_page(client, config, stream, raw, body)
            if served is not None:
                warnings.append({
                    "code": "page_size_above_agency_limit", "page_size":
                    stream.pagination.page_size, "served": served,
                    "message_vi": f"Hệ thống cơ quan chỉ trả {served} bản ghi mỗi trang, ít hơn "
                    f"page_size {stream.pagination.page_size}: hãy đặt page_size = {served}, "
                    "nếu không lượt chạy sẽ dừng sau trang đầu.",
                    "message_en": f"The agency serves {served} records a page, fewer than "
                    f"page_size {stream.pagination.page_size}: set page_size to {served}, or "
                    "runs stop after the first page."})
            summary = await hub.ingest.ingest(conn.principal(), stream.record_type, items,
                                              dry_run=True)
            assert isinstance(summary, ImportSummary)
            streams.append({
                "stream": stream.name, "record_type": stream.record_type,
                "records": len(raw), "deletes": sum(1 for i in items if i.get("_op")),
                "valid": len(items) - summary.rejected,
                "fields": _quality(stream.mapping.fields, mapped, summary),
                "sample": items[:PREVIEW_EXAMPLES],
                "would": {k: getattr(summary, k) for k in
                          ("created", "updated", "unchanged", "deleted", "rejected")},
                "warnings": warnings,
            })
    return {"connector": conn.id, "streams": streams}


def _legacy_left(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Text that still reads as VNI or TCVN3 after the mapping (a field without
    ``"encoding": "auto"``): one warning per field, with how many records and an example."""
    found: dict[str, list[str]] = {}
    for item in items:
        for name, value in item.items():
            texts = [value] if isinstance(value, str) else (
                [v for v in value if isinstance(v, str)] if isinstance(value, list) else [])
            for text in texts:
                if detect_legacy(text).encoding is not None:
                    found.setdefault(name, []).append(text)
                    break
    return [{"code": "legacy_text_left", "field": name, "records": len(texts),
             "example": texts[0][:80],
             "message_vi": f"{len(texts)} bản ghi còn chữ mã cũ (VNI/TCVN3) ở trường {name}: "
             'dùng "encoding": "auto" (mặc định) trong ánh xạ của trường.',
             "message_en": f"{len(texts)} records still hold VNI/TCVN3 text in {name}: use "
             '"encoding": "auto" (the default) in the field\'s mapping.'}
            for name, texts in sorted(found.items())]


async def _served_per_page(client: httpx.AsyncClient, config: RestConfig, stream: Any,
                           raw: list[dict[str, Any]], body: Any) -> int | None:
    """How many records the agency really serves a page, when fewer than ``page_size`` (a
    short first page that is not the last): the total says so, or the second page has
    records. None when the page size is fine or cannot be told."""
    p = stream.pagination
    if p.style not in ("page", "offset") or not raw or len(raw) >= p.page_size:
        return None
    if p.total_path and isinstance(body, dict):
        total = get_path(body, p.total_path)
        if isinstance(total, int) and not isinstance(total, bool):
            return len(raw) if total > len(raw) else None
    token = (p.first_page + 1) if p.style == "page" else len(raw)
    url, params = request_for(stream, token, None)

    async def fetch() -> httpx.Response:
        response = await client.get(url, params=params or None)
        classify(response)
        return response

    try:
        more = records_of(stream, (await with_retries(config.retry, fetch)).json())
    except (ConnectorError, httpx.HTTPError, ValueError):
        return None
    return len(raw) if more else None


def _quality(fields: Any, mapped: list[Any], summary: ImportSummary) -> list[dict[str, Any]]:
    filled: Counter[str] = Counter()
    problems: dict[str, Counter[str]] = {}
    examples: dict[str, list[Any]] = {}
    for m in mapped:
        filled.update(m.filled)
        for issue in m.issues:
            problems.setdefault(issue.field, Counter())[issue.code] += 1
            if issue.value is not None and len(examples.setdefault(issue.field, [])) < (
                PREVIEW_EXAMPLES
            ):
                examples[issue.field].append(issue.value)
    for r in summary.rejections:
        name = r.path.split(".")[0].split("[")[0] or "record"
        problems.setdefault(name, Counter())[r.code] += 1
        if len(examples.setdefault(name, [])) < PREVIEW_EXAMPLES:
            examples[name].append(r.message_en)
    total = sum(1 for m in mapped if m.item is not None and m.item.get("_op") != "delete")
    report = []
    for name in [*fields, *(n for n in problems if n not in fields)]:
        report.append({
            "field": name, "filled": filled[name], "records": total,
            "fill_rate": round(filled[name] / total, 3) if total else 0.0,
            "problems": dict(problems.get(name, {})), "examples": examples.get(name, []),
        })
    return report


KIND = register_kind(ConnectorKind(
    name="rest", config=RestConfig, run=run, check=check, preview=preview,
    label_vi="API REST của cơ quan", label_en="Agency REST API",
    new_config={"kind": "rest", "base_url": "https://", "auth": {"type": "none"},
                "streams": []},
    order=10,
))
