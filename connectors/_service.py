"""What admins do with a connector, as plain async services a router and a console page can
both call: check (can we reach and authenticate?), preview (map the first page, write
nothing, report data quality per field), run now, and the run history."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import httpx

from connectors._config import HubFeedConfig, RestConfig
from connectors._http import ConnectorError, OAuth2ClientCredentials, classify, with_retries
from connectors._legacy_text import detect_legacy
from connectors._mapping import apply_mapping, get_path
from connectors._outbound import OriginBoundAuth
from connectors._pages import records_of, request_for
from connectors._runs import claim_connector, execute, load
from connectors._store import get_connector
from hub import Conflict, Hub, ImportSummary, InvalidInput

PREVIEW_EXAMPLES = 3


def _error(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, ConnectorError):
        return exc.as_dict()
    return {"message_vi": f"Lỗi mạng: {type(exc).__name__}: {exc}",
            "message_en": f"Network error: {type(exc).__name__}: {exc}"}


async def check_connector(hub: Hub, connector_id: str) -> dict[str, Any]:
    """Reach the agency system and authenticate; each step with its duration."""
    conn = await load(hub, connector_id)
    steps: list[dict[str, Any]] = []
    try:
        client = conn.client(hub.settings)
    except ConnectorError as exc:  # e.g. a secret the auth needs is not set
        return {"ok": False, "steps": [{"step": "config", "ok": False, **exc.as_dict()}]}
    async with client:
        auth = client.auth
        if isinstance(auth, OriginBoundAuth):
            auth = auth.inner
        if isinstance(auth, OAuth2ClientCredentials):
            started = time.monotonic()
            try:
                await auth._ensure(force=True)
                steps.append({"step": "token", "ok": True,
                              "ms": int((time.monotonic() - started) * 1000)})
            except Exception as exc:
                steps.append({"step": "token", "ok": False, **_error(exc)})
                return {"ok": False, "steps": steps}
        config = conn.config
        if isinstance(config, RestConfig):
            stream = config.streams[0]
            url, params = request_for(stream, None, None)
            if stream.pagination.size_param:
                params[stream.pagination.size_param] = 1
        else:
            url, params = "/v1/changes", {"after": 0, "limit": 1}
        started = time.monotonic()

        async def fetch() -> None:
            classify(await client.get(url, params=params))

        try:
            # A short deadline: a check answers within seconds, flaky networks included.
            await with_retries(config.retry.model_copy(update={"deadline_seconds": 10.0}),
                               fetch)
            steps.append({"step": "fetch", "ok": True,
                          "ms": int((time.monotonic() - started) * 1000)})
        except Exception as exc:
            steps.append({"step": "fetch", "ok": False, **_error(exc)})
    return {"ok": all(s["ok"] for s in steps), "steps": steps}


async def preview_connector(hub: Hub, connector_id: str) -> dict[str, Any]:
    """Map the first page of each stream and validate it (a dry run: nothing is written);
    per field, how many records filled it and what went wrong, with examples."""
    conn = await load(hub, connector_id)
    config = conn.config
    if isinstance(config, HubFeedConfig):
        raise InvalidInput("Xem trước chỉ dành cho connector REST; hub nguồn đã theo chuẩn.",
                           "Preview is for REST connectors; a source hub speaks the standard.")
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
            summary = ImportSummary(dry_run=True)
            limit = hub.ingest.max_batch  # a page may hold more than the pipeline's batch
            for start in range(0, len(items), limit):
                part = await hub.ingest.ingest(
                    conn.principal(), stream.record_type, items[start : start + limit],
                    dry_run=True, indexes=range(start, min(start + limit, len(items))))
                assert isinstance(part, ImportSummary)
                summary.add(part)
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
    return {"connector": connector_id, "streams": streams}


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


async def run_connector(hub: Hub, connector_id: str, *,
                        full_refresh: bool | None = None) -> dict[str, Any]:
    """Run now, in the caller's process, and return the run (CLI, tests). The run takes the
    connector's lease like a worker does: 409 while a worker runs it."""
    await get_connector(hub, connector_id)  # 404 first
    owner = f"manual:{uuid.uuid4().hex[:12]}"
    lease = hub.settings.worker_lease_seconds
    if not await claim_connector(hub, connector_id, owner, lease):
        raise Conflict("Connector đang chạy; hãy đợi lượt chạy hiện tại kết thúc.",
                       "The connector is running; wait for the current run to end.")
    return await execute(hub, connector_id, owner=owner, trigger="manual", full=full_refresh,
                         lease_seconds=lease)


async def reconcile_connector(hub: Hub, connector_id: str) -> dict[str, Any]:
    """Reconcile now, in the caller's process (``rightshub connectors reconcile``): a run of
    kind "reconcile", holding the connector's lease like a pull (409 while one runs)."""
    from connectors._reconcile import execute_reconcile

    await get_connector(hub, connector_id)  # 404 first
    owner = f"manual:{uuid.uuid4().hex[:12]}"
    lease = hub.settings.worker_lease_seconds
    if not await claim_connector(hub, connector_id, owner, lease):
        raise Conflict("Connector đang chạy; hãy đợi lượt chạy hiện tại kết thúc.",
                       "The connector is running; wait for the current run to end.")
    return await execute_reconcile(hub, connector_id, owner=owner, trigger="manual",
                                   lease_seconds=lease)
