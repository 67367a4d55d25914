"""The worker: runs due pull connectors and pending deliveries.

Any number of workers may share one database. A worker claims a due connector by taking a
lease on its row: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` (workers skip each
other's rows instead of queueing), then a conditional update; on SQLite one
``UPDATE ... RETURNING`` under the database's write lock. The lease is renewed while the run
goes on and checked by every page's transaction (see ``_runs``), so two workers never run
one connector at the same time, and a killed worker's connector is taken over once its
lease has expired, resuming from the checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta

import sqlalchemy as sa
import structlog
from sqlmodel import col

from connectors import _delivery
from connectors._reconcile import execute_reconcile, last_reconciled
from connectors._runs import claim_connector, execute
from hub import Hub, clean_abandoned_uploads, collect_orphan_files
from hub.archive import announce_overdue
from hub.tables import Connector, utcnow

log = structlog.get_logger("rightshub.worker")

DELIVERY_BATCH = 100
# The archive's housekeeping (abandoned uploads, blobs no record uses) every this often.
HOUSEKEEPING_SECONDS = 3600.0
# The archive duty's check for newly overdue products (``archive.overdue``) every this often:
# deadlines are days, so a few minutes late is on time.
ARCHIVE_DUTY_SECONDS = 600.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    def __init__(
        self,
        hub: Hub,
        *,
        worker_id: str | None = None,
        concurrency: int | None = None,
        poll_seconds: float | None = None,
        lease_seconds: float | None = None,
        deliveries: bool = True,
    ) -> None:
        settings = hub.settings
        self.hub = hub
        self.id = worker_id or settings.worker_id or default_worker_id()
        self.concurrency = concurrency or settings.worker_concurrency
        self.poll_seconds = poll_seconds or settings.worker_poll_seconds
        self.lease_seconds = lease_seconds or settings.worker_lease_seconds
        self.deliveries = deliveries
        self._running: dict[str, asyncio.Task[None]] = {}
        # A full delivery batch means more are waiting: the next tick follows at once
        # instead of after a poll (at 100 changes/s a 1 s poll let the backlog grow).
        self.backlog = False
        self._housekept_at: float | None = None
        self._duty_checked_at: float | None = None

    # --- claiming --------------------------------------------------------------------------

    def _due(self, now: object) -> sa.ColumnElement[bool]:
        return sa.and_(
            col(Connector.enabled).is_(True),
            col(Connector.next_run_at) <= now,
            sa.or_(col(Connector.lease_until).is_(None), col(Connector.lease_until) < now),
            sa.or_(col(Connector.breaker_open_until).is_(None),
                   col(Connector.breaker_open_until) <= now),
        )

    async def claim(self, limit: int) -> list[str]:
        """Lease up to ``limit`` due connectors for this worker."""
        if limit <= 0:
            return []
        now = utcnow()
        until = now + timedelta(seconds=self.lease_seconds)
        async with self.hub.db.transaction() as session:
            if self.hub.db.dialect == "postgresql":
                ids = list((await session.execute(
                    sa.select(col(Connector.id)).where(self._due(now))
                    .order_by(col(Connector.next_run_at)).limit(limit)
                    .with_for_update(skip_locked=True)
                )).scalars())
                if not ids:
                    return []
                # Conditional as well: correct even without the row locks.
                result = await session.execute(
                    sa.update(Connector).where(col(Connector.id).in_(ids), self._due(now))
                    .values(lease_owner=self.id, lease_until=until).returning(col(Connector.id)))
                return list(result.scalars())
            # SQLite: a read first, so an idle worker never takes the write lock; then one
            # statement, so the lock is taken before the rows it changes are read.
            if (await session.execute(
                sa.select(col(Connector.id)).where(self._due(now)).limit(1)
            )).first() is None:
                return []
            due = (sa.select(col(Connector.id)).where(self._due(now))
                   .order_by(col(Connector.next_run_at)).limit(limit).scalar_subquery())
            result = await session.execute(
                sa.update(Connector).where(col(Connector.id).in_(due))
                .values(lease_owner=self.id, lease_until=until).returning(col(Connector.id)))
            return list(result.scalars())

    async def _renew(self, connector_id: str) -> bool:
        async with self.hub.db.transaction() as session:
            result = await session.execute(
                sa.update(Connector)
                .where(col(Connector.id) == connector_id, col(Connector.lease_owner) == self.id)
                .values(lease_until=utcnow() + timedelta(seconds=self.lease_seconds)))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _release_all(self) -> None:
        with contextlib.suppress(Exception):
            async with self.hub.db.transaction() as session:
                await session.execute(
                    sa.update(Connector).where(col(Connector.lease_owner) == self.id)
                    .values(lease_owner=None, lease_until=None))

    # --- running ---------------------------------------------------------------------------

    async def _run(self, connector_id: str) -> None:
        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(self.lease_seconds / 3)
                with contextlib.suppress(Exception):
                    if not await self._renew(connector_id):
                        return

        beat = asyncio.create_task(heartbeat())
        try:
            run = await execute(self.hub, connector_id, owner=self.id, trigger="schedule",
                                lease_seconds=self.lease_seconds)
            log.info("connector_run", connector=connector_id, status=run["status"],
                     pages=run["pages"], created=run["created"], updated=run["updated"],
                     deleted=run["deleted"], rejected=run["rejected"],
                     duration_ms=run["duration_ms"])
            if run["status"] == "succeeded":
                await self._reconcile_if_due(connector_id)
        except Exception:
            log.exception("connector_run_crashed", connector=connector_id)
        finally:
            beat.cancel()

    async def _reconcile_if_due(self, connector_id: str) -> None:
        """After a successful pull: a reconciliation when the connector's
        ``reconcile_every_seconds`` have passed since the last one. The pull released the
        lease; the reconciliation takes it again (or leaves it to whoever took it)."""
        async with self.hub.db.session() as session:
            row = await session.get(Connector, connector_id)
            config = row.config if row is not None else {}
        every = config.get("reconcile_every_seconds") if isinstance(config, dict) else None
        if not every:
            return
        last = await last_reconciled(self.hub, connector_id)
        if last is not None and utcnow() - last < timedelta(seconds=every):
            return
        if not await claim_connector(self.hub, connector_id, self.id, self.lease_seconds):
            return
        run = await execute_reconcile(self.hub, connector_id, owner=self.id,
                                      trigger="schedule", lease_seconds=self.lease_seconds)
        log.info("connector_reconcile", connector=connector_id, status=run["status"],
                 missing=run["missing"], stale=run["stale"], gone=run["gone"])

    async def tick(self) -> int:
        """Start runs for due connectors (up to the free slots) and deliver pending events;
        returns how many runs started."""
        self._running = {k: t for k, t in self._running.items() if not t.done()}
        started = 0
        try:
            for connector_id in await self.claim(self.concurrency - len(self._running)):
                self._running[connector_id] = asyncio.create_task(self._run(connector_id))
                started += 1
        except Exception:  # the database may be away for a while: try again next tick
            log.exception("worker_claim_failed")
        self.backlog = False
        await self._archive_duty()
        if self.deliveries:
            try:
                attempted = await _delivery.deliver_pending(self.hub, limit=DELIVERY_BATCH)
                self.backlog = attempted >= DELIVERY_BATCH
            except Exception:
                log.exception("worker_deliveries_failed")
        await self._housekeeping()
        return started

    async def _housekeeping(self) -> None:
        """Abandoned uploads and unused archive blobs, once per ``HOUSEKEEPING_SECONDS``.
        Both jobs re-check under the lock what they remove, so two workers doing it at the
        same time is harmless."""
        now = asyncio.get_running_loop().time()
        if self._housekept_at is not None and now - self._housekept_at < HOUSEKEEPING_SECONDS:
            return
        self._housekept_at = now
        try:
            uploads = await clean_abandoned_uploads(self.hub)
            blobs = await collect_orphan_files(self.hub)
            if uploads or blobs:
                log.info("archive_housekeeping", uploads_dropped=uploads, blobs_removed=blobs)
        except Exception:
            log.exception("archive_housekeeping_failed")

    async def _archive_duty(self) -> None:
        """Announce products newly overdue (once per ``ARCHIVE_DUTY_SECONDS``), before this
        tick's deliveries so they go out with them. Each product is announced once, even
        with several workers checking (``hub.archive._overdue``)."""
        now = asyncio.get_running_loop().time()
        if self._duty_checked_at is not None and now - self._duty_checked_at < ARCHIVE_DUTY_SECONDS:
            return
        self._duty_checked_at = now
        try:
            announced = await announce_overdue(self.hub)
            if announced:
                log.info("archive_overdue_announced", products=announced)
        except Exception:
            log.exception("archive_overdue_check_failed")

    async def drain(self) -> None:
        """Wait for the runs in progress."""
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
        self._running = {}

    async def run_once(self) -> None:
        """Run everything due now, wait for it, and return (``rightshub worker --once``)."""
        await self.tick()
        await self.drain()

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        log.info("worker_started", worker=self.id, concurrency=self.concurrency)
        try:
            while not stop.is_set():
                await self.tick()
                if self.backlog:
                    await asyncio.sleep(0)  # let the server's requests in between batches
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
        finally:
            for task in self._running.values():
                task.cancel()
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            await self._release_all()
            log.info("worker_stopped", worker=self.id)


def start_worker(hub: Hub) -> Callable[[], Awaitable[None]]:
    """Run a worker as a background task of the server; returns the coroutine that stops it."""
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(hub).run_forever(stop))

    async def stop_worker() -> None:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=10)

    return stop_worker
