"""The hub-feed kind: another RightsHub's ``/v1/changes`` feed (a provincial hub feeding the
central one). Its definition, its run, its check; registered with the connector kinds when
this module is imported (``connectors/__init__``). Offline exchange bundles
(``connectors._bundle``) apply their changes through :func:`apply_hub_page`, on the same
checkpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import httpx
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

import schemas
from connectors._config import HttpConfig
from connectors._http import ConnectorError, classify, with_retries
from connectors._kinds import ConnectorKind, register_kind
from connectors._runs import Connection, RunContext, load_state, save_state
from connectors._service import check_http
from hub import Hub


class HubFeedConfig(HttpConfig):
    """Another RightsHub's ``/v1/changes`` feed (a provincial hub feeding the central one).

    ``agencies`` lists the owner agencies whose records are taken (default: the connector's
    agency); changes of other owners are skipped."""

    kind: Literal["hub"] = "hub"
    record_types: list[schemas.RecordTypeName] | None = None
    agencies: list[str] | None = Field(default=None, max_length=200)
    page_size: int = Field(default=200, ge=1, le=1000)
    # The peer's public keys (its /.well-known/jwks.json), trusted for its offline exchange
    # bundles (connectors._bundle); ``rightshub bundle import --jwks`` may give them instead.
    bundle_jwks: dict[str, Any] | None = None


HUB_STREAM = "changes"


def group_changes(
    changes: list[dict[str, Any]], allowed: set[str], types: set[str] | None
) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """A page's changes collapsed to the last one per record, by (owner, record type), in
    feed order; changes of other owners or types are left out."""
    groups: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for change in changes:
        record = change.get("record") or {}
        owner, rtype = str(record.get("owner_agency")), str(record.get("type"))
        if owner not in allowed or (types is not None and rtype not in types):
            continue
        key = str(record.get("source_id"))
        group = groups.setdefault((owner, rtype), {})
        group.pop(key, None)  # keep feed order of the last change
        if change.get("op") in ("delete", "withdraw"):
            group[key] = {"source_id": key, "_op": "delete"}
        else:
            group[key] = {**(record.get("data") or {}), "source_id": key,
                          "visibility": record.get("visibility", "shared")}
    return groups


def feed_filters(ctx: RunContext) -> tuple[set[str], set[str] | None]:
    """The owner agencies and record types a hub-feed connector takes."""
    config = ctx.conn.config
    assert isinstance(config, HubFeedConfig)
    allowed = set(config.agencies or [ctx.conn.agency])
    return allowed, set(config.record_types) if config.record_types else None


async def apply_hub_page(
    ctx: RunContext,
    changes: list[dict[str, Any]],
    new_state: dict[str, Any],
    *,
    changed_cursor: bool,
    before_checkpoint: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Apply one page of another hub's changes and commit ``new_state`` (the checkpoint)
    with its last group. With ``before_checkpoint`` (an offline bundle's file sync), the
    checkpoint commits after it, in its own transaction: re-applying the page after a crash
    in between changes nothing (the pipeline finds the same content)."""
    allowed, types = feed_filters(ctx)
    cid = ctx.conn.id
    groups = group_changes(changes, allowed, types)

    async def extra(session: AsyncSession) -> None:
        await save_state(session, cid, HUB_STREAM, new_state)

    own_commit = before_checkpoint is not None
    if groups:
        ordered = list(groups.items())
        for n, ((owner, rtype), items) in enumerate(ordered):
            last = n == len(ordered) - 1
            await ctx.ingest(rtype, list(items.values()), agency=owner,
                             extra=extra if last and not own_commit else None,
                             fetched=len(changes) if last else 0)
        if before_checkpoint is not None:
            await before_checkpoint()
    if (own_commit and groups) or (not groups and changed_cursor):
        async with ctx.hub.db.transaction() as session:
            await ctx.fence(session)
            if not groups:
                ctx.counts["pages"] += 1
                ctx.counts["fetched"] += len(changes)
            await save_state(session, cid, HUB_STREAM, new_state)
            await ctx.save_counts(session)


async def run_hub_feed(ctx: RunContext, client: httpx.AsyncClient) -> None:
    """Follow another RightsHub's ``/v1/changes`` from the committed cursor. A page's changes
    are collapsed to the last one per record and ingested per (owner, record type); the
    cursor commits with the page's last group (re-applying an earlier group after a crash
    changes nothing: the pipeline finds the same content)."""
    config = ctx.conn.config
    assert isinstance(config, HubFeedConfig)
    state = await load_state(ctx.hub, ctx.conn.id, HUB_STREAM)
    cursor = int(state.get("cursor", 0))
    while True:
        async def fetch(after: int = cursor) -> httpx.Response:
            response = await client.get("/v1/changes",
                                        params={"after": after, "limit": config.page_size})
            classify(response)
            return response

        body = (await with_retries(config.retry, fetch, on_retry=ctx.note_retry)).json()
        if not isinstance(body, dict) or not isinstance(body.get("changes"), list):
            raise ConnectorError("Trả lời của hub nguồn không phải trang thay đổi.",
                                 "The source hub's answer is not a change page.")
        changes = body["changes"]
        next_cursor = int(body.get("next_cursor") or cursor)
        await apply_hub_page(ctx, changes, {"cursor": next_cursor},
                             changed_cursor=next_cursor != cursor)
        if not body.get("has_more") or next_cursor == cursor:
            return
        cursor = next_cursor



async def run(ctx: RunContext, full: bool) -> None:
    # A feed has no full refresh: the cursor is the peer's sequence, re-reading it changes
    # nothing the pipeline has not seen.
    async with ctx.conn.client(ctx.hub.settings) as client:
        await run_hub_feed(ctx, client)


async def check(hub: Hub, conn: Connection) -> dict[str, Any]:
    """The token, then the feed's first change."""
    return await check_http(hub, conn, "/v1/changes", {"after": 0, "limit": 1})


KIND = register_kind(ConnectorKind(
    name="hub", config=HubFeedConfig, run=run, check=check,
    label_vi="Luồng thay đổi của hub khác", label_en="Another hub's change feed",
    no_preview_vi="Xem trước chỉ dành cho connector REST; hub nguồn đã theo chuẩn.",
    no_preview_en="Preview is for REST connectors; a source hub speaks the standard.",
    new_config={"kind": "hub", "base_url": "https://", "auth": {"type": "oauth2",
                                                                "client_id": ""}},
    order=20, features=frozenset({"bundles"}),
))
