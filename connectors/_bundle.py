"""Offline exchange bundles between two hubs: export a slice of the change feed to a signed
file (:mod:`connectors._bundle_format`), import it on the other side through the hub-to-hub
feed's own apply path (:func:`connectors._hub_feed.apply_hub_page`).

The importing side names the peer by its hub-feed connector: the same per-peer checkpoint
(the last applied ``seq`` of the peer's feed) serves the online feed and the bundles, so a
bundle applied twice, or overlapping one already applied, applies each change once and in
order, and a bundle that starts after the checkpoint (a gap) is refused. The peer is trusted
through its JWKS: given with the import, or kept in the connector's ``bundle_jwks``.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from joserfc import jwt

from auth import authority
from connectors._bundle_format import (
    Bundle,
    BundleRefused,
    BundleSelection,
    file_shas,
    read_bundle,
    write_bundle,
)
from connectors._hub_feed import HUB_STREAM, HubFeedConfig, apply_hub_page, feed_filters
from connectors._runs import RunContext, finish_run, load, load_state, run_info, start_run
from hub import Hub, InvalidInput, Principal, current_file_lists, list_changes
from hub.archive import (
    FileClaims,
    Staged,
    check_claims,
    detach_file,
    finish_upload,
    storage_of,
    uploads_dir,
)
from hub.tables import Record

EXPORT_PAGE = 1000
TRIGGER = "bundle"


# --- export ---------------------------------------------------------------------------------


async def _signer(hub: Hub) -> Any:
    keys = authority(hub).keys
    await keys.refresh()
    kid, algorithm, key = keys.signing_key()
    header = {"alg": algorithm, "kid": kid, "typ": "rightshub-bundle+jwt"}

    def sign(claims: dict[str, Any]) -> str:
        return jwt.encode(header, claims, key, algorithms=[algorithm])

    return sign


async def export_bundle(
    hub: Hub,
    out: Path,
    *,
    as_agency: str,
    agencies: list[str] | None = None,
    record_types: list[str] | None = None,
    after: int = 0,
    until: int | None = None,
    files: bool = True,
) -> dict[str, Any]:
    """Write the changes after ``after`` (up to ``until``, else the feed's end) of the
    chosen owners and types, as ``as_agency`` may read them (the feed's visibility rule,
    withdrawals included), with the bytes of their files when ``files``; returns the
    manifest."""
    graph = await hub.catalog.agencies()
    for code in [as_agency, *(agencies or [])]:
        if not graph.exists(code):
            raise InvalidInput(f"Cơ quan {code} không có trong danh mục.",
                               f"Agency {code} is not in the registry.")
    reader = Principal("bundle-export", as_agency, frozenset({"changes:read"}), kind="system")
    owners = set(agencies) if agencies else None
    types = set(record_types) if record_types else None
    chosen: list[dict[str, Any]] = []
    cursor = after
    async with hub.db.session() as session:
        while until is None or cursor < until:
            limit = EXPORT_PAGE if until is None else min(EXPORT_PAGE, until - cursor)
            page = await list_changes(session, reader, graph, after=cursor, limit=limit)
            for change in page.changes:
                record = change["record"]
                if owners is not None and record["owner_agency"] not in owners:
                    continue
                if types is not None and record["type"] not in types:
                    continue
                chosen.append(change)
            cursor = page.next_cursor
            if not page.has_more:
                break
    selection = BundleSelection(agencies=sorted(owners) if owners else None,
                                record_types=sorted(types) if types else None,
                                as_agency=as_agency, files=files)
    with tempfile.TemporaryDirectory(prefix="rightshub-bundle-") as scratch:
        blobs: dict[str, Path] = {}
        if files:
            storage = storage_of(hub)
            for sha in sorted(file_shas(chosen)):
                path = Path(scratch) / sha
                with path.open("wb") as handle:
                    async for block in storage.read(sha):
                        handle.write(block)
                blobs[sha] = path
        manifest = write_bundle(out, issuer=hub.settings.issuer_url, selection=selection,
                                after=after, until=max(cursor, after), changes=chosen,
                                blobs=blobs, sign=await _signer(hub))
    return manifest.model_dump(mode="json")


# --- import ---------------------------------------------------------------------------------


async def trusted_jwks(hub: Hub, connector_id: str) -> dict[str, Any] | None:
    """The JWKS a hub-feed connector keeps for its peer's bundles (``bundle_jwks``)."""
    conn = await load(hub, connector_id)
    if not isinstance(conn.config, HubFeedConfig):
        raise InvalidInput(f"Connector {connector_id} không theo dõi một hub khác.",
                           f"Connector {connector_id} does not follow another hub.")
    return conn.config.bundle_jwks


async def import_bundle(
    hub: Hub, path: Path, *, connector_id: str, jwks: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Check ``path`` whole, then apply the changes after the connector's checkpoint.

    Refused (:class:`BundleRefused`, nothing imported): a bad or foreign signature, a part
    missing or changed, a bundle of another peer than the one the checkpoint follows, an
    older bundle whose changes were all applied (replayed), or a gap after the checkpoint.
    The same bundle imported again answers "already imported" and changes nothing."""
    conn = await load(hub, connector_id)
    if not isinstance(conn.config, HubFeedConfig):
        raise InvalidInput(f"Connector {connector_id} không theo dõi một hub khác.",
                           f"Connector {connector_id} does not follow another hub.")
    keys = jwks if jwks is not None else conn.config.bundle_jwks
    if not keys:
        raise InvalidInput(
            "Cần JWKS của hub nguồn (--jwks, hoặc bundle_jwks trong cấu hình connector).",
            "The source hub's JWKS is needed (--jwks, or bundle_jwks in the connector).")
    bundle = read_bundle(path, keys)
    state = await load_state(hub, connector_id, HUB_STREAM)
    cursor = int(state.get("cursor", 0))
    cursor_range = bundle.manifest.cursor
    peer = state.get("issuer")
    if peer is not None and peer != bundle.manifest.issuer:
        raise BundleRefused("peer", f"connector này nhận từ {peer}, gói do "
                            f"{bundle.manifest.issuer} xuất.",
                            f"this connector follows {peer}; the bundle comes from "
                            f"{bundle.manifest.issuer}.")
    report = _report(bundle, cursor)
    if cursor_range.until <= cursor:
        if (state.get("bundle") or {}).get("manifest_sha256") == bundle.manifest_sha256:
            return {**report, "status": "already_imported"}
        raise BundleRefused(
            "replayed", f"mọi thay đổi của gói (đến seq {cursor_range.until}) đã được áp dụng "
            f"(điểm dừng {cursor}): gói cũ, không nhập gì.",
            f"every change of this bundle (up to seq {cursor_range.until}) was already applied "
            f"(checkpoint {cursor}): an old bundle, nothing imported.",
            checkpoint=cursor)
    if cursor_range.after > cursor:
        raise BundleRefused(
            "gap", f"gói bắt đầu sau seq {cursor_range.after} nhưng hub này mới áp dụng đến "
            f"{cursor}: thiếu các thay đổi ở giữa; hãy nhập gói trước đó.",
            f"the bundle starts after seq {cursor_range.after} but this hub has applied up "
            f"to {cursor}: the changes in between are missing; import the earlier bundle.",
            checkpoint=cursor)
    todo = [c for c in bundle.changes if int(c["seq"]) > cursor]
    run_id = await start_run(hub, connector_id, owner=None, trigger=TRIGGER, full=False,
                             kind=TRIGGER)
    ctx = RunContext(hub, conn, run_id, None, 60.0)
    files = {"attached": 0, "detached": 0, "missing": 0}
    status, error = "succeeded", None
    try:
        page = conn.config.page_size
        starts = range(0, len(todo), page) if todo else range(1)
        for start in starts:
            chunk = todo[start : start + page]
            last = start + page >= len(todo)
            position = cursor_range.until if last else int(chunk[-1]["seq"])
            new_state = {"cursor": position, "issuer": bundle.manifest.issuer,
                         "bundle": {"id": bundle.manifest.bundle_id,
                                    "manifest_sha256": bundle.manifest_sha256}}

            async def sync(chunk: list[dict[str, Any]] = chunk) -> None:
                await _sync_files(ctx, bundle, chunk, files)

            await apply_hub_page(ctx, chunk, new_state, changed_cursor=True,
                                 before_checkpoint=sync)
    except Exception as exc:
        status = "failed"
        error = {"message_vi": f"Lỗi: {type(exc).__name__}: {exc}",
                 "message_en": f"Error: {type(exc).__name__}: {exc}"}
        raise
    finally:
        await finish_run(hub, connector_id, run_id, ctx, status=status, error=error,
                         full=False, owner=None, duration_ms=0, schedule=False)
    run = await run_info(hub, run_id)
    summary = {k: run[k] for k in ("created", "updated", "unchanged", "deleted", "rejected")}
    return {**report, **summary, "status": "partial" if run["rejected"] else "ok",
            "applied": len(todo), "cursor": {"before": cursor, "after": cursor_range.until},
            "files": files, "rejections": run["errors"], "run_id": run_id}


def _report(bundle: Bundle, cursor: int) -> dict[str, Any]:
    manifest = bundle.manifest
    return {"bundle_id": manifest.bundle_id, "issuer": manifest.issuer, "kid": bundle.kid,
            "cursor_range": manifest.cursor.model_dump(), "changes": manifest.counts.changes,
            "already_applied": sum(1 for c in bundle.changes if int(c["seq"]) <= cursor),
            "applied": 0, "created": 0, "updated": 0, "unchanged": 0, "deleted": 0,
            "rejected": 0, "rejections": [], "cursor": {"before": cursor, "after": cursor}}


async def _sync_files(
    ctx: RunContext, bundle: Bundle, chunk: list[dict[str, Any]], counts: dict[str, int]
) -> None:
    """Give each record whose last change in ``chunk`` is an upsert the file list of that
    version: attach what the bundle carries and the record lacks, detach what it no longer
    lists (by SHA-256 and role). A bundle exported without files leaves files alone."""
    if not bundle.manifest.selection.files:
        return
    allowed, types = feed_filters(ctx)
    last: dict[tuple[str, str, str], dict[str, Any]] = {}
    for change in chunk:
        record = change["record"]
        if record["owner_agency"] not in allowed or (types and record["type"] not in types):
            continue
        last[(record["owner_agency"], record["type"], record["source_id"])] = change
    for (owner, rtype, source_id), change in last.items():
        if change["op"] != "upsert":
            continue
        async with ctx.hub.db.session() as session:
            record_id = (await session.execute(sa.select(Record.id).where(
                Record.owner_agency == owner, Record.record_type == rtype,
                Record.source_id == source_id, Record.deleted.is_(False)))).scalar()
            if record_id is None:  # rejected by the pipeline: reported there
                continue
            have = {(f.sha256, f.role): f
                    for f in (await current_file_lists(session, [record_id]))[record_id]}
        want = {(f["sha256"], f.get("role", "main")): f for f in change["record"]["files"]}
        principal = ctx.conn.principal(owner)
        for key in sorted(set(have) - set(want)):
            await detach_file(ctx.hub, principal, have[key].id)
            counts["detached"] += 1
        for key, meta in want.items():
            if key in have:
                continue
            if key[0] not in bundle.files:
                counts["missing"] += 1
                continue
            part = uploads_dir(ctx.hub) / f"bundle-{uuid.uuid4().hex}.part"
            size = bundle.extract_file(key[0], part)
            claims = await check_claims(ctx.hub, FileClaims(
                name=str(meta.get("name") or key[0]), media_type=meta.get("media_type"),
                language=meta.get("language"), role=key[1], sha256=key[0]))
            await finish_upload(ctx.hub, principal, record_id, Staged(part, size), claims)
            counts["attached"] += 1
