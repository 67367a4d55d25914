"""One REST stream of a run: fetch a page, map it, ingest it with the checkpoint, go on.

Two ways through the pages (docs/connectors.md, "Paging on a live source"):

- **anchored** (page or offset paging of a stream whose records come ordered by the
  replication key): every request asks from the last key value seen, see ``_anchored``;
  exact while the source changes;
- **walked** (cursor and link paging, which the agency keeps consistent itself, and page
  numbers of sources not ordered by the key): the next page is the one after; page numbers
  on a live source can skip records, which the walk detects (the total changed between
  pages, or a record came back a second time because it moved) and counts as a shift.

A full refresh tombstones the records it did not see only if it met no shift; otherwise
the key-only sweep of the reconciliation decides what is gone (or, without one configured,
the run says a reconciliation is needed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from connectors._anchored import Walk, step
from connectors._config import RestConfig, StreamConfig
from connectors._cursor_values import BadCursorValue, cursor_sort_key
from connectors._http import ConnectorError, classify, with_retries
from connectors._mapping import apply_mapping, get_path
from connectors._pages import next_token, records_of, request_for
from connectors._runs import RunContext, load_state, save_state
from hub.tables import ConnectorKey, ConnectorSeen, Record

Key = tuple[str, Any]  # (source id, replication-key value as the agency wrote it)


def sort_key_of(stream: StreamConfig) -> Callable[[Any], Any]:
    inc = stream.incremental
    assert inc is not None

    def sort_key(value: Any) -> Any:
        try:
            return cursor_sort_key(value, inc.cursor_format, inc.timezone)
        except BadCursorValue:
            raise ConnectorError(
                f"Giá trị {value!r} của {inc.cursor_field} không theo định dạng "
                f"{inc.cursor_format}.",
                f"The value {value!r} of {inc.cursor_field} is not in the format "
                f"{inc.cursor_format}.", retriable=False) from None

    return sort_key


def key_of(stream: StreamConfig) -> Callable[[dict[str, Any]], Any]:
    inc = stream.incremental
    assert inc is not None

    def get(record: dict[str, Any]) -> Any:
        value = get_path(record, inc.cursor_field)
        if value is None or value == "":
            raise ConnectorError(f"Một bản ghi không có {inc.cursor_field}.",
                                 f"A record has no {inc.cursor_field}.", retriable=False)
        return value

    return get


def version_of(stream: StreamConfig) -> Callable[[dict[str, Any]], str | None]:
    """A record's source id with a digest of its content: what an anchored walk has taken.
    Not the id alone: a record updated again within the anchor's value (update times to the
    second) has the same key and must still be taken."""
    source_id = id_of(stream)

    def get(record: dict[str, Any]) -> str | None:
        key = source_id(record)
        if key is None:
            return None
        body = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
        return f"{key}:{hashlib.blake2b(body.encode(), digest_size=8).hexdigest()}"

    return get


def id_of(stream: StreamConfig) -> Callable[[dict[str, Any]], str | None]:
    def get(record: dict[str, Any]) -> str | None:
        value = get_path(record, stream.mapping.source_id)
        text = str(value).strip() if value is not None else ""
        return text or None

    return get


async def fetch_page(
    ctx: RunContext, client: httpx.AsyncClient, config: RestConfig, stream: StreamConfig,
    url: str, params: dict[str, Any],
) -> tuple[Any, list[dict[str, Any]], httpx.Response]:
    async def fetch() -> httpx.Response:
        # None, not {}: empty params would wipe the query of a next link.
        response = await client.get(url, params=params or None)
        classify(response)
        return response

    response = await with_retries(config.retry, fetch, on_retry=ctx.note_retry)
    try:
        body = response.json()
    except ValueError:
        raise ConnectorError("Trả lời không phải JSON.", "The answer is not JSON.",
                             retriable=False) from None
    return body, records_of(stream, body), response


async def mark_seen(
    session: AsyncSession, connector_id: str, stream: str, source_ids: list[str]
) -> None:
    if not source_ids:
        return
    rows = [{"connector_id": connector_id, "stream": stream, "source_id": s}
            for s in dict.fromkeys(source_ids)]
    table: sa.Table = ConnectorSeen.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    await session.execute(insert.on_conflict_do_nothing(), rows)


async def save_keys(
    session: AsyncSession, connector_id: str, stream: str, keys: list[Key]
) -> None:
    """The key values of the versions just ingested (for the reconciliation's stale check)."""
    if not keys:
        return
    rows = [{"connector_id": connector_id, "stream": stream, "source_id": s,
             "cursor_value": None if v is None else str(v)[:100]}
            for s, v in dict(keys).items()]
    table: sa.Table = ConnectorKey.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    await session.execute(insert.on_conflict_do_update(
        index_elements=["connector_id", "stream", "source_id"],
        set_={"cursor_value": insert.excluded.cursor_value}), rows)


def map_records(
    ctx: RunContext, stream: StreamConfig, raw: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[Key | None]]:
    """The standard items of a page and, beside each, its (source id, key value)."""
    items: list[dict[str, Any]] = []
    keys: list[Key | None] = []
    cursor = stream.incremental.cursor_field if stream.incremental is not None else None
    for record in raw:
        mapped = apply_mapping(stream.mapping, record, updated_at_from=stream.updated_at_from)
        if mapped.item is None:
            ctx.note_error({"source_id": None, "path": "source_id", "code": "missing",
                            "message_vi": "Bản ghi không có khoá.",
                            "message_en": "A record without its key."})
            continue
        items.append(mapped.item)
        keys.append((mapped.item["source_id"], get_path(record, cursor))
                    if cursor is not None else None)
    return items, keys


def _later(stream: StreamConfig, a: Any, b: Any) -> Any:
    """The later of two key values, compared by the stream's cursor format."""
    if a is None:
        return b
    if b is None:
        return a
    sort_key = sort_key_of(stream)
    return b if sort_key(b) > sort_key(a) else a


def _new_pass(stream: StreamConfig, state: dict[str, Any], full: bool) -> dict[str, Any]:
    since = None if full else state.get("since")
    run: dict[str, Any] = {"token": None, "since": since, "max_seen": state.get("since"),
                           "full": full, "phase": "pages", "shifts": 0, "total": None}
    if stream.anchored:
        ids = () if full else tuple(state.get("since_ids") or ())
        run["walk"] = Walk(anchor=since, ids=ids).as_state()
    return run


async def run_rest_stream(
    ctx: RunContext, client: httpx.AsyncClient, stream_index: int, *, full: bool
) -> None:
    config = ctx.conn.config
    assert isinstance(config, RestConfig)
    stream = config.streams[stream_index]
    cid = ctx.conn.id
    state = await load_state(ctx.hub, cid, stream.name)
    run = state.get("run")
    if run is not None and full and not run.get("full"):
        run = None  # a full refresh reads everything again: the incremental pass is moot
    if run is not None and stream.anchored != ("walk" in run):
        run = None  # a pass saved by the other way through the pages: start it again
    if run is None:  # a new pass; a pass in progress is resumed as it was started
        run = _new_pass(stream, state, full)
        if full:
            async with ctx.hub.db.transaction() as session:
                await ctx.fence(session)
                await session.execute(sa.delete(ConnectorSeen).where(
                    ConnectorSeen.connector_id == cid, ConnectorSeen.stream == stream.name))
                await save_state(session, cid, stream.name, {**state, "run": run})
    run.setdefault("shifts", 0)
    run.setdefault("total", None)
    tombstones = run["full"] and stream.mapping.tombstone_missing
    tokens: set[Any] = set()
    run_ids: set[str] = set()  # walked pages: a key met twice means the source shifted
    while run["phase"] == "pages":
        new_run = dict(run)
        if stream.anchored:
            walk = Walk.from_state(run["walk"])
            url, params = request_for(stream, walk.page, walk.anchor)
            body, raw, response = await fetch_page(ctx, client, config, stream, url, params)
            walk, raw = step(walk, raw, page_size=stream.pagination.page_size,
                             key_of=key_of(stream), sort_key=sort_key_of(stream),
                             id_of=version_of(stream))
            new_run.update(walk=walk.as_state(), max_seen=walk.anchor)
            shifts, last = walk.shifts - run["shifts"], walk.done
        else:
            url, params = request_for(stream, run["token"], run["since"])
            body, raw, response = await fetch_page(ctx, client, config, stream, url, params)
            token = next_token(stream.pagination, run["token"], raw, body, response)
            if token is not None and token in tokens:
                raise ConnectorError("Phân trang lặp lại một trang đã đọc.",
                                     "The pagination came back to a page already read.")
            tokens.add(token)
            shifts = await _walk_shifts(ctx, stream, run, body, raw, run_ids, tombstones)
            max_seen = run["max_seen"]
            if stream.incremental is not None:
                for record in raw:
                    max_seen = _later(stream, max_seen,
                                      get_path(record, stream.incremental.cursor_field))
            new_run.update(token=token, max_seen=max_seen, total=total_of(stream, body))
            last = token is None
        new_run["shifts"] = run["shifts"] + shifts
        items, keys = map_records(ctx, stream, raw)
        if last:
            new_run["phase"] = _after_pages(ctx, stream, tombstones, new_run["shifts"])
        new_state = (_final(stream, new_run) if new_run["phase"] == "done"
                     else {**state, "run": new_run})
        seen = [i["source_id"] for i in items if i.get("_op") != "delete"]

        async def extra(session: AsyncSession, new_state: dict[str, Any] = new_state,
                        seen: list[str] = seen) -> None:
            if tombstones:
                await mark_seen(session, cid, stream.name, seen)
            await save_state(session, cid, stream.name, new_state)

        ctx.counts["shifts"] += shifts
        await ctx.ingest(stream.record_type, items, extra=extra, fetched=len(raw), keys=keys,
                         stream=stream.name)
        state, run = new_state, new_run
    if run["phase"] == "tombstones":
        await _tombstone_missing(ctx, stream, state)
    elif run["phase"] == "reconcile":
        from connectors._reconcile import reconcile_stream

        await reconcile_stream(ctx, client, stream_index)
        async with ctx.hub.db.transaction() as session:
            await ctx.fence(session)
            await save_state(session, cid, stream.name, _final(stream, run))
            await session.execute(sa.delete(ConnectorSeen).where(
                ConnectorSeen.connector_id == cid, ConnectorSeen.stream == stream.name))
            await ctx.save_counts(session)


def total_of(stream: StreamConfig, body: Any) -> Any:
    path = stream.pagination.total_path
    return get_path(body, path) if path and isinstance(body, dict) else None


async def _walk_shifts(
    ctx: RunContext, stream: StreamConfig, run: dict[str, Any], body: Any,
    raw: list[dict[str, Any]], run_ids: set[str], tombstones: bool,
) -> int:
    """Shifts a walked page shows: the total changed since the last page, or records the
    pass has already met (a record that moved is met twice, and the one at the page
    boundary behind it not at all)."""
    shifts = 0
    total = total_of(stream, body)
    if run["total"] is not None and total is not None and total != run["total"]:
        shifts += 1
    ids = [i for i in map(id_of(stream), raw) if i is not None]
    again = {i for i in ids if i in run_ids}
    if tombstones and ids:  # a resumed full refresh: what it met before the restart
        async with ctx.hub.db.session() as session:
            again |= set((await session.execute(sa.select(ConnectorSeen.source_id).where(
                ConnectorSeen.connector_id == ctx.conn.id,
                ConnectorSeen.stream == stream.name,
                ConnectorSeen.source_id.in_(ids)))).scalars())
    run_ids.update(ids)
    return shifts + len(again)


def _after_pages(ctx: RunContext, stream: StreamConfig, tombstones: bool, shifts: int) -> str:
    if not tombstones:
        return "done"
    if not shifts:
        return "tombstones"
    if stream.keys is not None:
        return "reconcile"  # the key-only sweep decides what is gone
    ctx.note_error({
        "source_id": None, "path": None, "code": "shift_detected",
        "message_vi": f"Nguồn dịch chuyển trong lượt làm mới toàn bộ ({shifts} lần): không "
                      "xoá bản ghi nào; cần đối soát khoá (rightshub connectors reconcile).",
        "message_en": f"The source shifted during the full refresh ({shifts} times): nothing "
                      "was tombstoned; a key-only sweep is needed (rightshub connectors "
                      "reconcile)."})
    return "done"


def _final(stream: StreamConfig, run: dict[str, Any]) -> dict[str, Any]:
    if stream.anchored:
        walk = Walk.from_state(run["walk"])
        return {"since": walk.anchor, "since_ids": list(walk.ids), "run": None}
    return {"since": run.get("max_seen"), "run": None}


async def _tombstone_missing(
    ctx: RunContext, stream: StreamConfig, state: dict[str, Any]
) -> None:
    """After a full refresh that met no shift: this connector's live records of the type
    that the agency no longer lists become tombstones; the pass ends with the last of them."""
    cid = ctx.conn.id
    async with ctx.hub.db.session() as session:
        seen = set((await session.execute(sa.select(ConnectorSeen.source_id).where(
            ConnectorSeen.connector_id == cid, ConnectorSeen.stream == stream.name))).scalars())
        rows = (await session.execute(sa.select(Record.source_id, Record.provenance).where(
            Record.owner_agency == ctx.conn.agency, Record.record_type == stream.record_type,
            Record.deleted.is_(False)))).all()
    ours = ctx.conn.principal().client_id
    missing = sorted(s for s, prov in rows
                     if s not in seen and (prov or {}).get("client") == ours)
    final = _final(stream, state.get("run") or {})
    chunks = [missing[i : i + 500] for i in range(0, len(missing), 500)] or [[]]
    for n, chunk in enumerate(chunks):
        done = n == len(chunks) - 1

        async def extra(session: AsyncSession, done: bool = done) -> None:
            if done:
                await save_state(session, cid, stream.name, final)
                await session.execute(sa.delete(ConnectorSeen).where(
                    ConnectorSeen.connector_id == cid, ConnectorSeen.stream == stream.name))

        await ctx.ingest(stream.record_type, [{"source_id": s, "_op": "delete"} for s in chunk],
                         extra=extra)
