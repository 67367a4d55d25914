"""Reconciliation (issue 17): a key-only sweep of the agency compared with what the hub holds
for the connector, and the repairs, through the one ingest pipeline.

The sweep asks the stream's own listing for keys only (``stream.keys``: ids, update times and
the deleted flag, in large pages) and finds

- **missing**: live at the source, not in the hub (or a tombstone there): fetched;
- **stale**: live in both, the source's update time later than the one of the version the
  hub took (``connector_keys``), or unknown: fetched again;
- **gone**: live in the hub from this connector, but deleted at the source or no longer
  listed at all: tombstoned.

The fetch reads the ordinary listing from the earliest update time it needs, taking only the
records it looks for. A run of kind "reconcile" records the counts; a second reconciliation
right after finds nothing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import sqlalchemy as sa

from connectors._anchored import Walk, step
from connectors._config import RestConfig, StreamConfig
from connectors._http import ConnectorError
from connectors._mapping import get_path
from connectors._pages import next_token, request_for
from connectors._rest_stream import (
    fetch_page,
    id_of,
    key_of,
    map_records,
    sort_key_of,
    total_of,
    version_of,
)
from connectors._runs import LeaseLost, RunContext, finish_run, load, run_info, start_run
from hub import Hub
from hub.tables import ConnectorKey, ConnectorRun, Record

BATCH = 500
SWEEP_PASSES = 3  # a walked sweep that met a shift is done again, this many times at most


async def _listing(
    ctx: RunContext, client: httpx.AsyncClient, stream: StreamConfig, since: Any, *,
    keys_only: bool,
) -> AsyncIterator[tuple[list[dict[str, Any]], Any]]:
    """The stream's records from ``since`` (inclusive), page by page (with the total the
    answer gives, if the stream says where), each record once if the stream is anchored."""
    config = ctx.conn.config
    assert isinstance(config, RestConfig) and stream.keys is not None
    size = stream.keys.page_size if keys_only else None
    extra = stream.keys.params if keys_only else None
    if stream.anchored:
        walk = Walk(anchor=since)
        page_size = size or stream.pagination.page_size
        while not walk.done:
            url, params = request_for(stream, walk.page, walk.anchor, page_size=size,
                                      extra=extra)
            body, raw, _ = await fetch_page(ctx, client, config, stream, url, params)
            walk, take = step(walk, raw, page_size=page_size, key_of=key_of(stream),
                              sort_key=sort_key_of(stream), id_of=version_of(stream))
            yield take, total_of(stream, body)
        return
    token: Any = None
    tokens: set[Any] = set()
    pagination = stream.pagination if size is None else stream.pagination.model_copy(
        update={"page_size": size})
    while True:
        url, params = request_for(stream, token, since, page_size=size, extra=extra)
        body, raw, response = await fetch_page(ctx, client, config, stream, url, params)
        yield raw, total_of(stream, body)
        token = next_token(pagination, token, raw, body, response)
        if token is None or token in tokens:
            return
        tokens.add(token)


async def _sweep(
    ctx: RunContext, client: httpx.AsyncClient, stream: StreamConfig
) -> tuple[dict[str, tuple[Any, bool]], bool]:
    """Every key of the source: id -> (update time, deleted at the source), and whether the
    sweep is exact (anchored, or walked without a shift: no id twice, the total unchanged)."""
    source_id, cursor = id_of(stream), key_of(stream)
    deleted_when = stream.mapping.deleted_when
    source: dict[str, tuple[Any, bool]] = {}
    shifted = False
    totals: list[Any] = []
    async for page, total in _listing(ctx, client, stream, None, keys_only=True):
        ctx.counts["pages"] += 1
        ctx.counts["fetched"] += len(page)
        for record in page:
            key = source_id(record)
            if key is None:
                continue
            if key in source and not stream.anchored:
                shifted = True  # met again: it moved, and a record behind it was skipped
            gone = deleted_when is not None and get_path(
                record, deleted_when.field) == deleted_when.equals
            source[key] = (cursor(record), gone)
        # Anchored, each page asks from a later value: its total is not comparable.
        if not stream.anchored and total is not None and totals and total != totals[-1]:
            shifted = True
        totals.append(total)
    return source, not shifted


async def reconcile_stream(ctx: RunContext, client: httpx.AsyncClient, index: int) -> None:
    config = ctx.conn.config
    assert isinstance(config, RestConfig)
    stream = config.streams[index]
    if stream.keys is None:
        raise ConnectorError(f"Luồng {stream.name} không khai báo cách lấy danh sách khoá.",
                             f"The stream {stream.name} declares no key listing (keys).",
                             retriable=False)
    sort_key, source_id = sort_key_of(stream), id_of(stream)
    source: dict[str, tuple[Any, bool]] = {}
    exact = False
    for _ in range(SWEEP_PASSES):
        source, exact = await _sweep(ctx, client, stream)
        if exact:
            break
    if not exact:
        ctx.note_error({
            "source_id": None, "path": None, "code": "sweep_shifted",
            "message_vi": "Nguồn dịch chuyển trong mọi lượt đối soát khoá: chỉ xoá các bản ghi "
                          "nguồn đánh dấu đã xoá.",
            "message_en": "The source shifted during every key sweep: only records the source "
                          "flags as deleted are tombstoned."})
    ours = ctx.conn.principal().client_id
    async with ctx.hub.db.session() as session:
        held = {s: (deleted, (prov or {}).get("client") == ours) for s, deleted, prov in (
            await session.execute(sa.select(Record.source_id, Record.deleted, Record.provenance)
                                  .where(Record.owner_agency == ctx.conn.agency,
                                         Record.record_type == stream.record_type))).all()}
        taken = dict((await session.execute(sa.select(
            ConnectorKey.source_id, ConnectorKey.cursor_value).where(
            ConnectorKey.connector_id == ctx.conn.id,
            ConnectorKey.stream == stream.name))).all())
    missing = {s for s, (_, gone) in source.items()
               if not gone and (s not in held or held[s][0])}
    stale = {s for s, (value, gone) in source.items()
             if not gone and s in held and not held[s][0] and held[s][1]
             and (taken.get(s) is None or sort_key(value) > sort_key(taken[s]))}
    # Not listed means gone only when the sweep saw the whole list (it met no shift).
    gone = sorted(s for s, (deleted, mine) in held.items() if mine and not deleted
                  and ((exact and s not in source) or (s in source and source[s][1])))
    ctx.counts["missing"] += len(missing)
    ctx.counts["stale"] += len(stale)
    ctx.counts["gone"] += len(gone)
    for n in range(0, len(gone), BATCH):
        chunk = gone[n : n + BATCH]
        await ctx.ingest(stream.record_type, [{"source_id": s, "_op": "delete"} for s in chunk],
                         keys=[(s, source[s][0]) if s in source else None for s in chunk],
                         stream=stream.name)
    wanted = missing | stale
    if not wanted:
        return
    # The ordinary listing from the earliest update time wanted, taking only what is wanted.
    since = min((source[s][0] for s in wanted), key=sort_key)
    async for page, _ in _listing(ctx, client, stream, since, keys_only=False):
        found = [r for r in page if source_id(r) in wanted]
        wanted -= {source_id(r) for r in found}
        items, keys = map_records(ctx, stream, found)
        await ctx.ingest(stream.record_type, items, keys=keys, stream=stream.name,
                         fetched=len(page))
        if not wanted:
            return


async def last_reconciled(hub: Hub, connector_id: str) -> Any:
    async with hub.db.session() as session:
        return (await session.execute(sa.select(sa.func.max(ConnectorRun.started_at)).where(
            ConnectorRun.connector_id == connector_id, ConnectorRun.kind == "reconcile",
            ConnectorRun.status == "succeeded"))).scalar()


async def execute_reconcile(
    hub: Hub, connector_id: str, *, owner: str | None, trigger: str,
    lease_seconds: float = 60.0,
) -> dict[str, Any]:
    """A run of kind "reconcile" over every stream that declares a key listing."""
    run_id = await start_run(hub, connector_id, owner=owner, trigger=trigger, full=False,
                             kind="reconcile")
    started = time.monotonic()
    status, error = "succeeded", None
    ctx: RunContext | None = None
    try:
        conn = await load(hub, connector_id)
        if not isinstance(conn.config, RestConfig) or not any(
                s.keys is not None for s in conn.config.streams):
            raise ConnectorError("Connector không khai báo danh sách khoá để đối soát.",
                                 "The connector declares no key listing to reconcile with.",
                                 retriable=False)
        ctx = RunContext(hub, conn, run_id, owner, lease_seconds)
        async with conn.client(hub.settings) as client:
            for index, stream in enumerate(conn.config.streams):
                if stream.keys is not None:
                    await reconcile_stream(ctx, client, index)
        async with hub.db.transaction() as session:
            await ctx.fence(session)
            await ctx.save_counts(session)
    except LeaseLost:
        status, error = "interrupted", {"message_vi": "Worker khác đã nhận connector.",
                                        "message_en": "Another worker took the connector over."}
    except ConnectorError as exc:
        status, error = "failed", exc.as_dict()
    except httpx.HTTPError as exc:
        status, error = "failed", {"message_vi": f"Lỗi mạng: {type(exc).__name__}: {exc}",
                                   "message_en": f"Network error: {type(exc).__name__}: {exc}"}
    except Exception as exc:  # a reconciliation never takes the worker down either
        status, error = "failed", {"message_vi": f"Lỗi: {type(exc).__name__}: {exc}",
                                   "message_en": f"Error: {type(exc).__name__}: {exc}"}
    duration_ms = int((time.monotonic() - started) * 1000)
    await finish_run(hub, connector_id, run_id, ctx, status=status, error=error, full=False,
                     owner=owner, duration_ms=duration_ms, schedule=False)
    return await run_info(hub, run_id)
