"""A connector run, as a flow: fetch a page, map it, ingest it through the ONE pipeline with
the checkpoint and the run's counts written in the same transaction, go on from the
checkpoint. A run killed at any moment resumes at the first page not committed: no gap, and
no page applied twice.

When a worker runs it, every page's transaction also renews the worker's lease on the
connector and fails (rolling the page back) if another worker took the connector over.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from connectors._config import ConnectorConfig, HttpConfig, Secrets
from connectors._http import ConnectorError, Outbound, build_auth, make_client
from connectors._kinds import connector_kind
from connectors._store import get_row, unseal, validate_config
from hub import Hub, ImportSummary, Principal, Settings, StoredAnswer
from hub.tables import Connector, ConnectorCheckpoint, ConnectorRun, utcnow

log = structlog.get_logger("rightshub.connectors")

MAX_RUN_ERRORS = 50
CHANNEL = "connector"


class LeaseLost(Exception):
    """Another worker holds the connector now: this run stops without committing more."""


@dataclass
class Connection:
    """A loaded connector: definition, secrets and who owns what it writes."""

    id: str
    agency: str
    kind: str
    config: ConnectorConfig
    secrets: Secrets

    def principal(self, agency: str | None = None) -> Principal:
        return Principal(f"connector:{self.id}", agency or self.agency,
                         frozenset({"records:write"}), channel=CHANNEL, kind="system")

    def client(self, settings: Settings) -> httpx.AsyncClient:
        """The connector's client, through the hub's outbound guard (a kind that calls an
        HTTP API: its config is an :class:`HttpConfig`)."""
        c = self.config
        if not isinstance(c, HttpConfig):
            raise TypeError(f"a {self.kind} connector calls no HTTP API")
        outbound = Outbound.of(settings)
        auth = build_auth(c.auth, self.secrets, c.base_url, c.http, c.retry, outbound)
        return make_client(c.base_url, c.http, auth, outbound)


async def load(hub: Hub, connector_id: str) -> Connection:
    async with hub.db.session() as session:
        row = await get_row(session, connector_id)
        return Connection(row.id, row.agency, row.kind, validate_config(row.kind, row.config),
                          unseal(hub.settings, row.id, row.secrets))


@dataclass
class RunContext:
    hub: Hub
    conn: Connection
    run_id: str
    owner: str | None  # the worker's lease, or None for a run outside the worker
    lease_seconds: float
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("pages", "fetched", "created", "updated", "unchanged", "deleted", "rejected",
         "retries", "shifts", "missing", "stale", "gone"), 0))
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_total: int = 0  # all of them; ``errors`` keeps the first MAX_RUN_ERRORS

    def note_retry(self, exc: BaseException) -> None:
        self.counts["retries"] += 1
        log.info("connector_retry", connector=self.conn.id, error=type(exc).__name__,
                 detail=str(exc)[:200])

    def note_error(self, entry: dict[str, Any]) -> None:
        self.errors_total += 1
        if len(self.errors) < MAX_RUN_ERRORS:
            self.errors.append(entry)

    async def fence(self, session: AsyncSession) -> None:
        """Renew the lease inside the page's transaction; no lease, no commit."""
        if self.owner is None:
            return
        result = await session.execute(
            sa.update(Connector)
            .where(col(Connector.id) == self.conn.id, col(Connector.lease_owner) == self.owner)
            .values(lease_until=utcnow() + timedelta(seconds=self.lease_seconds))
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(self.conn.id)

    async def save_counts(self, session: AsyncSession) -> None:
        await session.execute(
            sa.update(ConnectorRun).where(ConnectorRun.id == self.run_id)
            .values(**self.counts, errors=list(self.errors), errors_total=self.errors_total)
        )

    async def ingest(
        self,
        record_type: str,
        items: list[dict[str, Any]],
        *,
        agency: str | None = None,
        extra: Callable[[AsyncSession], Awaitable[None]] | None = None,
        fetched: int = 0,
        keys: list[tuple[str, Any] | None] | None = None,
        stream: str | None = None,
        page_ends: bool = True,
    ) -> None:
        """One page through the ingest pipeline; ``extra`` (the checkpoint), the run's
        counts and the key values of the items taken (``keys``, beside ``items``, of
        ``stream``) commit with it.

        A page larger than the pipeline's batch (``IngestPipeline.max_batch``) goes in
        several batches, the checkpoint and the page's count with the last one (``page_ends``):
        after a crash in between, the page is fetched again and its first batches are
        "unchanged"."""
        limit = self.hub.ingest.max_batch
        if len(items) > limit:
            for start in range(0, len(items), limit):
                last = start + limit >= len(items)
                await self.ingest(
                    record_type, items[start : start + limit], agency=agency,
                    extra=extra if last else None, fetched=fetched if last else 0,
                    keys=None if keys is None else keys[start : start + limit],
                    stream=stream, page_ends=last,
                )
            return
        before = dict(self.counts), list(self.errors)

        async def in_transaction(session: AsyncSession, summary: ImportSummary) -> None:
            self.counts["pages"] += 1 if page_ends else 0
            self.counts["fetched"] += fetched
            for name in ("created", "updated", "unchanged", "deleted"):
                self.counts[name] += getattr(summary, name)
            rejected = set()
            for r in summary.rejections:
                rejected.add(r.index)
                self.note_error({"source_id": r.source_id, "path": r.path, "code": r.code,
                                 "message_vi": r.message_vi, "message_en": r.message_en})
            self.counts["rejected"] += len(rejected)
            await self.fence(session)
            if keys is not None and stream is not None:
                from connectors._rest_stream import save_keys

                await save_keys(session, self.conn.id, stream, [
                    k for i, k in enumerate(keys) if k is not None and i not in rejected])
            if extra is not None:
                await extra(session)
            await self.save_counts(session)

        try:
            result = await self.hub.ingest.ingest(
                self.conn.principal(agency), record_type, items, batch_id=self.run_id,
                action="connectors.pull", in_transaction=in_transaction,
                # a record deleted at the source before the first pull still leaves a
                # tombstone (see IngestPipeline.ingest)
                tombstone_unknown=True,
            )
        except BaseException:
            self.counts, self.errors = dict(before[0]), list(before[1])  # rolled back
            raise
        assert not isinstance(result, StoredAnswer)


# --- checkpoints ---------------------------------------------------------------------------


async def load_state(hub: Hub, connector_id: str, stream: str) -> dict[str, Any]:
    async with hub.db.session() as session:
        row = await session.get(ConnectorCheckpoint, (connector_id, stream))
        return dict(row.state) if row is not None else {}


async def save_state(
    session: AsyncSession, connector_id: str, stream: str, state: dict[str, Any]
) -> None:
    result = await session.execute(
        sa.update(ConnectorCheckpoint)
        .where(ConnectorCheckpoint.connector_id == connector_id,
               ConnectorCheckpoint.stream == stream)
        .values(state=state, updated_at=utcnow())
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        session.add(ConnectorCheckpoint(connector_id=connector_id, stream=stream, state=state,
                                        updated_at=utcnow()))
        await session.flush()


# --- the run ----------------------------------------------------------------------------


async def start_run(
    hub: Hub, connector_id: str, *, owner: str | None, trigger: str, full: bool,
    kind: str = "pull", requested_by: str | None = None,
) -> str:
    """Record a new run (and mark runs a dead worker left "running" as interrupted). A run
    an admin asked for (``run_requested_by`` on the connector) is "manual", by them."""
    run_id = str(uuid.uuid4())
    async with hub.db.transaction() as session:
        row = await session.get(Connector, connector_id)
        if row is not None and row.run_requested_by is not None and kind == "pull":
            trigger, requested_by = "manual", requested_by or row.run_requested_by
            row.run_requested_by = None
        await session.execute(
            sa.update(ConnectorRun)
            .where(ConnectorRun.connector_id == connector_id, ConnectorRun.status == "running")
            .values(status="interrupted", finished_at=utcnow())
        )
        session.add(ConnectorRun(
            id=run_id, connector_id=connector_id, worker=owner, trigger=trigger, kind=kind,
            requested_by=requested_by, errors_total=0,
            full_refresh=full, status="running", started_at=utcnow(), pages=0, fetched=0,
            created=0, updated=0, unchanged=0, deleted=0, rejected=0, retries=0, shifts=0,
            missing=0, stale=0, gone=0, errors=[],
        ))
    return run_id


async def execute(
    hub: Hub,
    connector_id: str,
    *,
    owner: str | None = None,
    trigger: str = "manual",
    full: bool | None = None,
    lease_seconds: float = 60.0,
    requested_by: str | None = None,
) -> dict[str, Any]:
    """Run the connector once, record the run, and return its record (as ``run_info``)."""
    async with hub.db.session() as session:
        row = await get_row(session, connector_id)
        full = row.full_refresh_requested if full is None else full
    run_id = await start_run(hub, connector_id, owner=owner, trigger=trigger, full=full,
                             requested_by=requested_by)
    started = time.monotonic()
    status, error = "succeeded", None
    ctx: RunContext | None = None
    try:
        conn = await load(hub, connector_id)
        ctx = RunContext(hub, conn, run_id, owner, lease_seconds)
        await connector_kind(conn.kind).run(ctx, full)
    except LeaseLost:
        status, error = "interrupted", {"message_vi": "Worker khác đã nhận connector.",
                                        "message_en": "Another worker took the connector over."}
    except ConnectorError as exc:
        status, error = "failed", exc.as_dict()
    except httpx.HTTPError as exc:
        status, error = "failed", {"message_vi": f"Lỗi mạng: {type(exc).__name__}: {exc}",
                                   "message_en": f"Network error: {type(exc).__name__}: {exc}"}
    except Exception as exc:  # a run never takes the worker down; the run says why
        log.exception("connector_run_error", connector=connector_id)
        status, error = "failed", {"message_vi": f"Lỗi: {type(exc).__name__}: {exc}",
                                   "message_en": f"Error: {type(exc).__name__}: {exc}"}
    duration_ms = int((time.monotonic() - started) * 1000)
    await finish_run(hub, connector_id, run_id, ctx, status=status, error=error, full=full,
                     owner=owner, duration_ms=duration_ms)
    return await run_info(hub, run_id)


async def finish_run(
    hub: Hub, connector_id: str, run_id: str, ctx: RunContext | None, *, status: str,
    error: dict[str, Any] | None, full: bool, owner: str | None, duration_ms: int,
    schedule: bool = True,
) -> None:
    """Record how the run ended; ``schedule``: and what it means for the connector's next
    run and circuit breaker (a reconciliation changes neither)."""
    errors = list(ctx.errors) if ctx is not None else []
    total = ctx.errors_total if ctx is not None else 0
    if error is not None:  # the error that ended the run is always kept, after the cap
        errors.append({"source_id": None, "path": None, "code": "run_failed", **error})
        total += 1
    now = utcnow()
    async with hub.db.transaction() as session:
        values: dict[str, Any] = {"status": status, "finished_at": now,
                                  "duration_ms": duration_ms, "errors": errors,
                                  "errors_total": total}
        if ctx is not None:
            values["retries"] = ctx.counts["retries"]
        await session.execute(
            sa.update(ConnectorRun).where(ConnectorRun.id == run_id).values(**values))
        row = await session.get(Connector, connector_id)
        if row is None or (owner is not None and row.lease_owner != owner):
            return  # deleted meanwhile, or another worker's now
        if not schedule:
            pass
        elif status == "succeeded":
            row.failures, row.breaker_open_until = 0, None
            if full:
                row.full_refresh_requested = False
            row.next_run_at = now + timedelta(seconds=row.schedule_seconds)
        elif status == "failed":
            row.failures += 1
            config = validate_config(row.kind, row.config).breaker
            if row.failures >= config.failure_threshold:
                # Open: rest, doubling with every further failure, up to the maximum.
                rest = min(config.open_seconds * 2 ** (row.failures - config.failure_threshold),
                           config.max_open_seconds)
                row.breaker_open_until = now + timedelta(seconds=rest)
                row.next_run_at = row.breaker_open_until
            else:
                row.next_run_at = now + timedelta(
                    seconds=min(row.schedule_seconds, config.open_seconds))
        if owner is not None:
            row.lease_owner, row.lease_until = None, None


async def claim_connector(
    hub: Hub, connector_id: str, owner: str, lease_seconds: float
) -> bool:
    """Lease one connector for ``owner`` unless someone holds it."""
    now = utcnow()
    async with hub.db.transaction() as session:
        result = await session.execute(
            sa.update(Connector)
            .where(col(Connector.id) == connector_id,
                   sa.or_(col(Connector.lease_until).is_(None), col(Connector.lease_until) < now))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds)))
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def run_info(hub: Hub, run_id: str) -> dict[str, Any]:
    async with hub.db.session() as session:
        run = await session.get(ConnectorRun, run_id)
        assert run is not None
        return _run_dict(run)


def _run_dict(run: ConnectorRun) -> dict[str, Any]:
    return {c: getattr(run, c) for c in (
        "id", "connector_id", "worker", "trigger", "kind", "full_refresh", "status",
        "started_at", "finished_at", "duration_ms", "pages", "fetched", "created", "updated",
        "unchanged", "deleted", "rejected", "retries", "shifts", "missing", "stale", "gone",
        "errors", "errors_total", "requested_by")}


async def list_runs(hub: Hub, connector_id: str, *, limit: int = 50) -> list[dict[str, Any]]:
    async with hub.db.session() as session:
        rows = (await session.execute(
            sa.select(ConnectorRun).where(ConnectorRun.connector_id == connector_id)
            .order_by(ConnectorRun.started_at.desc()).limit(limit))).scalars().all()
    return [_run_dict(r) for r in rows]
