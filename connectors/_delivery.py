"""Push to subscribers: deliveries of change-feed events (issue 5).

``deliver_pending`` is the worker's entry point, called every tick. One call:

1. *claims* due subscriptions that have something to send: a lease (``leased_until``,
   ``lease_token``) taken in one short transaction; on PostgreSQL the candidate rows are
   locked ``FOR UPDATE SKIP LOCKED``, so several workers share subscriptions and never hold
   the same one; on SQLite (one process) a single conditional UPDATE does the same;
2. for each claimed subscription, concurrently: reads its next batch (dead letters an admin
   asked to redeliver first, then the change log after its position), POSTs it with httpx
   (explicit timeouts, connection limits, tenacity retrying transport errors briefly), and
3. records the outcome in one transaction, only if it still holds the lease: position moved
   past the batch on a 2xx; otherwise a jittered exponential back-off, and dead letters once
   the batch has failed ``delivery_max_attempts`` times. A failing subscriber only delays
   itself.

A subscription sends its events in ``seq`` order and never moves past an event before it is
delivered or dead-lettered: record X's version 3 is never sent before version 2 succeeded or
was dead-lettered. Delivery is at least once (a worker that dies after the subscriber's 2xx
but before recording it leaves the batch to be sent again once its lease expires); events
carry ``event_id`` for de-duplication.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from connectors._errors import ConnectorError
from connectors._http import authlib_oauth2_client
from connectors._outbound import (
    OutboundPolicy,
    guarded_client,
    guarded_transport,
    sanitized_excerpt,
)
from connectors._outbox import EventFilter, events_at, next_events
from connectors._secretbox import open_secret
from connectors._signing import SIGNATURE_HEADER, sign_delivery
from hub import CHANGE_FEED_LOCK, Hub
from hub.tables import DeadLetter, DeliveryAttempt, HubLock, Subscription, utcnow

log = structlog.get_logger("rightshub.delivery")

USER_AGENT = "RightsHub-Delivery/1"
ERROR_TEXT_LIMIT = 500
# Transport errors (refused, reset, timed out) are retried this often within one attempt,
# briefly, before the attempt counts as failed and the persistent back-off takes over.
QUICK_TRIES = 2
PRUNE_EVERY_SECONDS = 600


def backoff_seconds(
    attempts: int, *, base: float, cap: float, rand: float | None = None
) -> float:
    """Delay before the next try after ``attempts`` failed ones: exponential, capped, with
    "equal jitter" (between half and all of it) so subscribers that failed together do not
    all come back at once."""
    exponential = min(cap, base * 2 ** max(0, min(attempts - 1, 60)))
    r = random.random() if rand is None else rand
    return exponential * (0.5 + r / 2)


def retry_after_seconds(value: str | None, *, cap: float) -> float | None:
    """RFC 9110 §10.2.3: seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(cap, float(value))
    with contextlib.suppress(TypeError, ValueError):
        when = parsedate_to_datetime(value)
        return min(cap, max(0.0, (when - utcnow()).total_seconds()))
    return None


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: str
    agency: str
    endpoint_url: str
    record_types: list[str] | None
    owner_agencies: list[str] | None
    themes: list[str] | None
    auth_kind: str
    secret_encrypted: str
    token_url: str | None
    oauth_client_id: str | None
    oauth_scope: str | None
    position: int
    attempts: int
    lease_token: str


@dataclass(slots=True)
class _Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None


@dataclass
class _DeliveryState:
    """Per-hub state kept between calls: OAuth2 tokens of subscribers' servers, deliveries
    still in flight, and how many events those that finished attempted."""

    tokens: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    in_flight: set[asyncio.Task[int]] = field(default_factory=set)
    attempted: int = 0
    next_prune: float = 0.0

    def finished(self, task: asyncio.Task[int]) -> None:
        if not task.cancelled() and task.exception() is None:
            self.attempted += task.result()


_STATES: weakref.WeakKeyDictionary[Hub, _DeliveryState] = weakref.WeakKeyDictionary()


def _state(hub: Hub) -> _DeliveryState:
    found = _STATES.get(hub)
    if found is None:
        found = _STATES[hub] = _DeliveryState()
    return found


def http_client(hub: Hub) -> httpx.AsyncClient:
    """The client deliveries use, through the outbound guard: explicit timeouts and
    connection limits, no redirects (a subscriber's endpoint answers itself), answers capped
    (only the status matters), no proxies from the environment."""
    s = hub.settings
    return guarded_client(
        OutboundPolicy.from_settings(s), max_bytes=s.outbound_max_delivery_answer_bytes,
        timeout=httpx.Timeout(s.delivery_timeout_seconds,
                              connect=s.delivery_connect_timeout_seconds),
        limits=httpx.Limits(max_connections=max(10, s.delivery_concurrency * 2),
                            max_keepalive_connections=s.delivery_concurrency),
        headers={"User-Agent": USER_AGENT},
    )


async def deliver_pending(
    hub: Hub, *, limit: int = 100, client: httpx.AsyncClient | None = None
) -> int:
    """Deliver about ``limit`` due events (at least one batch to each subscription claimed);
    return how many were attempted.

    Waits at most ``delivery_wait_seconds`` for the subscriptions it claimed: a slow or
    hanging subscriber keeps its delivery running in the background (its lease held, its
    events counted by a later call) while the next calls serve the others, so it never holds
    up the worker's tick. At most ``delivery_concurrency`` subscriptions are in flight.

    ``client``: an ``httpx.AsyncClient`` to reuse (keep-alive); by default each delivery
    opens its own (see :func:`http_client`).
    """
    settings = hub.settings
    state = _state(hub)
    await _prune(hub, state)
    state.in_flight = {t for t in state.in_flight if not t.done()}
    free = settings.delivery_concurrency - len(state.in_flight)
    claimed = await _claim(hub, free) if free > 0 else []
    if claimed:
        # Each claimed subscription may send one batch; the rest of the budget is shared.
        budget = max(min(settings.delivery_batch_size, limit), limit // len(claimed), 1)
        for sub in claimed:
            task = asyncio.create_task(_guarded(hub, client, sub, budget))
            task.add_done_callback(state.finished)
            state.in_flight.add(task)
    if state.in_flight:
        await asyncio.wait(set(state.in_flight), timeout=settings.delivery_wait_seconds)
    attempted, state.attempted = state.attempted, 0
    return attempted


async def _prune(hub: Hub, state: _DeliveryState) -> None:
    """Drop delivery attempts older than ``delivery_log_days``, every few minutes at most."""
    if time.monotonic() < state.next_prune:
        return
    state.next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
    cutoff = utcnow() - timedelta(days=hub.settings.delivery_log_days)
    try:
        async with hub.db.transaction() as session:
            await session.execute(
                sa.delete(DeliveryAttempt).where(col(DeliveryAttempt.at) < cutoff))
    except Exception as exc:  # the log can wait; deliveries cannot
        log.warning("delivery_log_prune_failed", error_type=type(exc).__name__)


async def _guarded(
    hub: Hub, client: httpx.AsyncClient | None, sub: _Claimed, budget: int
) -> int:
    try:
        async with _client(hub, client) as http:
            return await _deliver_one(hub, http, sub, budget)
    except Exception as exc:
        # A bug or the database: the lease expires and the batch is tried again then.
        log.error("delivery_crashed", subscription=sub.id, error_type=type(exc).__name__,
                  error=str(exc)[:ERROR_TEXT_LIMIT])
        return 0


@contextlib.asynccontextmanager
async def _client(hub: Hub, client: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    async with http_client(hub) as own:
        yield own


# --- 1. claim --------------------------------------------------------------------------------


async def _claim(hub: Hub, how_many: int) -> list[_Claimed]:
    now = utcnow()
    token = str(uuid.uuid4())
    head = (
        sa.select(HubLock.last_seq).where(HubLock.name == CHANGE_FEED_LOCK).scalar_subquery()
    )
    redelivery = (
        sa.select(col(DeadLetter.seq))
        .where(col(DeadLetter.subscription_id) == col(Subscription.id),
               col(DeadLetter.status) == "redeliver")
        .exists()
    )
    due = (
        sa.select(col(Subscription.id))
        .where(
            col(Subscription.active),
            col(Subscription.next_attempt_at) <= now,
            sa.or_(col(Subscription.leased_until).is_(None), col(Subscription.leased_until) < now),
            sa.or_(Subscription.position < head, redelivery),
        )
        .order_by(col(Subscription.next_attempt_at))
        .limit(how_many)
    )
    lease = {"leased_until": now + timedelta(seconds=hub.settings.delivery_lease_seconds),
             "lease_token": token}
    async with hub.db.transaction() as session:
        if hub.db.dialect == "postgresql":
            ids = list(await session.scalars(due.with_for_update(of=Subscription,
                                                                 skip_locked=True)))
            if not ids:
                return []
            target = col(Subscription.id).in_(ids)
        else:
            # One statement: SQLite takes its write lock at once (a read followed by a write
            # could fail with SQLITE_BUSY_SNAPSHOT under concurrent writers).
            target = col(Subscription.id).in_(due.scalar_subquery())
        await session.execute(sa.update(Subscription).where(target).values(**lease))
        rows = await session.scalars(
            sa.select(Subscription).where(col(Subscription.lease_token) == token)
        )
        return [
            _Claimed(r.id, r.agency, r.endpoint_url, r.record_types, r.owner_agencies, r.themes,
                     r.auth_kind, r.secret_encrypted, r.token_url, r.oauth_client_id,
                     r.oauth_scope, r.position, r.attempts, token)
            for r in rows
        ]


# --- 2. read and send ------------------------------------------------------------------------


async def _deliver_one(hub: Hub, http: httpx.AsyncClient, sub: _Claimed, budget: int) -> int:
    """Send batches while they succeed and are full, up to ``budget`` events and half the
    lease; each batch's outcome commits on its own (the position moves batch by batch)."""
    graph = await hub.catalog.agencies()
    flt = EventFilter.build(sub.id, sub.agency, graph, record_types=sub.record_types,
                            owner_agencies=sub.owner_agencies, themes=sub.themes)
    size = hub.settings.delivery_batch_size
    deadline = time.monotonic() + hub.settings.delivery_lease_seconds / 2
    total = 0
    while True:
        limit = max(1, min(size, budget - total))
        async with hub.db.session() as session:
            redeliver = list(await session.scalars(
                sa.select(col(DeadLetter.seq))
                .where(col(DeadLetter.subscription_id) == sub.id,
                       col(DeadLetter.status) == "redeliver")
                .order_by(col(DeadLetter.seq)).limit(limit)
            ))
            if redeliver:
                events = await events_at(session, flt, graph, redeliver)
                scanned_to = sub.position
            else:
                batch = await next_events(session, flt, graph, after=sub.position, limit=limit)
                events, scanned_to = batch.events, batch.scanned_to
        if not events and not redeliver:
            await _finish(hub, sub, position=scanned_to)  # only filtered-out changes
            return total
        started = time.perf_counter()
        delivery_id = f"dlv_{uuid.uuid4().hex}"
        outcome = await _send(hub, http, sub, delivery_id, events) if events else _Outcome(True)
        duration_ms = int((time.perf_counter() - started) * 1000)
        total += len(events)
        more = (outcome.ok and len(redeliver or events) == limit and total < budget
                and time.monotonic() < deadline)
        held = await _record(hub, sub, events, redeliver, scanned_to, outcome, delivery_id,
                             duration_ms, keep_lease=more)
        if not (more and held):
            return total
        if not redeliver:
            sub = replace(sub, position=scanned_to, attempts=0)


async def _send(
    hub: Hub, http: httpx.AsyncClient, sub: _Claimed, delivery_id: str,
    events: list[dict[str, Any]],
) -> _Outcome:
    body = orjson.dumps({"subscription_id": sub.id, "delivery_id": delivery_id,
                         "events": events})
    headers = {"Content-Type": "application/json", "RightsHub-Delivery": delivery_id,
               "RightsHub-Event-Count": str(len(events))}
    try:
        secret = open_secret(hub, sub.id, sub.secret_encrypted)
        if sub.auth_kind == "oauth2":
            headers["Authorization"] = f"Bearer {await _token(hub, http, sub, secret)}"
        else:
            headers[SIGNATURE_HEADER] = sign_delivery(secret, body)
        response: httpx.Response | None = None
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(QUICK_TRIES),
            wait=wait_random_exponential(multiplier=0.1, max=1.0),
            retry=retry_if_exception_type(httpx.TransportError),
            reraise=True,
        ):
            with attempt:
                response = await http.post(sub.endpoint_url, content=body, headers=headers)
        assert response is not None
    except httpx.HTTPError as exc:
        return _Outcome(False, error=f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT])
    except ConnectorError as exc:  # the guard refused the address, or the answer was too large
        return _Outcome(False, error=exc.message_en[:ERROR_TEXT_LIMIT])
    except _TokenError as exc:
        return _Outcome(False, error=str(exc)[:ERROR_TEXT_LIMIT])
    if 200 <= response.status_code < 300:
        return _Outcome(True, response.status_code)
    if response.status_code == 401 and sub.auth_kind == "oauth2":
        _state(hub).tokens.pop(sub.id, None)  # fetch a fresh token next time
    retry_after = None
    if response.status_code in (429, 503):
        retry_after = retry_after_seconds(response.headers.get("retry-after"),
                                          cap=hub.settings.delivery_backoff_max_seconds)
    excerpt = sanitized_excerpt(response)  # never the subscriber's whole answer
    return _Outcome(False, response.status_code,
                    f"HTTP {response.status_code}" + (f": {excerpt}" if excerpt else ""),
                    retry_after)


class _TokenError(Exception):
    pass


async def _token(hub: Hub, http: httpx.AsyncClient, sub: _Claimed, secret: str) -> str:
    """An access token from the subscriber's authorization server (client credentials,
    RFC 6749 §4.4), cached until shortly before it expires."""
    state = _state(hub)
    fingerprint = f"{sub.token_url}|{sub.oauth_client_id}|{sub.oauth_scope}|{secret}"
    cached = state.tokens.get(sub.id)
    if cached is not None and cached[0] == fingerprint and cached[2] > time.monotonic():
        return cached[1]
    AsyncOAuth2Client = authlib_oauth2_client()
    s = hub.settings
    async with AsyncOAuth2Client(
        client_id=sub.oauth_client_id, client_secret=secret, scope=sub.oauth_scope,
        timeout=httpx.Timeout(s.delivery_timeout_seconds,
                              connect=s.delivery_connect_timeout_seconds),
        transport=guarded_transport(OutboundPolicy.from_settings(s),
                                    max_bytes=s.outbound_max_token_bytes),
        follow_redirects=False, trust_env=False,
    ) as oauth:
        try:
            token = await oauth.fetch_token(sub.token_url, grant_type="client_credentials")
        except httpx.HTTPError:
            raise
        except Exception as exc:  # Authlib's OAuth errors: the server refused us
            raise _TokenError(f"token endpoint refused: {type(exc).__name__}: {exc}") from None
    access = token.get("access_token")
    if not access:
        raise _TokenError("token endpoint answered without access_token")
    lifetime = float(token.get("expires_in") or 300)
    state.tokens[sub.id] = (fingerprint, str(access),
                            time.monotonic() + max(0.0, lifetime - min(30.0, lifetime / 2)))
    return str(access)


# --- 3. record the outcome ---------------------------------------------------------------------


async def _holds_lease(
    session: AsyncSession, sub: _Claimed, *, keep_lease: bool = False, **values: Any
) -> bool:
    """Update the subscription and release its lease (unless ``keep_lease``), if this worker
    still holds it (the first write of the transaction: on SQLite it takes the write lock)."""
    if not keep_lease:
        values.update(leased_until=None, lease_token=None)
    result = await session.execute(
        sa.update(Subscription)
        .where(col(Subscription.id) == sub.id, col(Subscription.lease_token) == sub.lease_token)
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


async def _finish(hub: Hub, sub: _Claimed, *, position: int) -> None:
    async with hub.db.transaction() as session:
        await _holds_lease(session, sub, position=position)


async def _record(
    hub: Hub,
    sub: _Claimed,
    events: list[dict[str, Any]],
    redelivered: list[int],
    scanned_to: int,
    outcome: _Outcome,
    delivery_id: str,
    duration_ms: int,
    *,
    keep_lease: bool = False,
) -> bool:
    """Commit one batch's outcome; False when the lease was lost (the outcome is dropped)."""
    s = hub.settings
    now = utcnow()
    attempt = sub.attempts + 1
    seqs = [e["seq"] for e in events] or redelivered
    if outcome.ok:
        values: dict[str, Any] = {
            "attempts": 0, "next_attempt_at": now, "last_error": None, "last_delivered_at": now,
            "delivered_events": Subscription.delivered_events + len(events),
        }
        if not redelivered:
            values["position"] = scanned_to
        kind = "delivered"
    elif attempt >= s.delivery_max_attempts:
        values = {"attempts": 0, "next_attempt_at": now, "last_error": outcome.error}
        if not redelivered:
            values["position"] = scanned_to
        kind = "dead_lettered"
    else:
        delay = backoff_seconds(attempt, base=s.delivery_backoff_base_seconds,
                                cap=s.delivery_backoff_max_seconds)
        if outcome.retry_after is not None:
            delay = max(delay, outcome.retry_after)
        values = {"attempts": attempt, "last_error": outcome.error,
                  "next_attempt_at": now + timedelta(seconds=delay)}
        kind = "failed"
    async with hub.db.transaction() as session:
        if not await _holds_lease(session, sub, keep_lease=keep_lease, **values):
            # The lease expired and another worker took over: it sends the batch again.
            log.warning("delivery_lease_lost", subscription=sub.id)
            return False
        if redelivered:
            status = {"delivered": "redelivered", "dead_lettered": "dead"}.get(kind)
            if status is not None:
                await session.execute(
                    sa.update(DeadLetter)
                    .where(col(DeadLetter.subscription_id) == sub.id,
                           col(DeadLetter.seq).in_(redelivered))
                    .values(status=status, redelivered_at=now if kind == "delivered" else None,
                            attempts=DeadLetter.attempts + attempt, last_error=outcome.error)
                )
        elif kind == "dead_lettered":
            await session.execute(sa.insert(DeadLetter), [
                {"subscription_id": sub.id, "seq": e["seq"], "event_id": e["event_id"],
                 "record_id": e["record"]["id"], "record_type": e["record"]["type"],
                 "op": e["op"], "attempts": attempt, "last_error": outcome.error,
                 "dead_at": now, "status": "dead"}
                for e in events
            ])
        session.add(DeliveryAttempt(
            subscription_id=sub.id, at=now, delivery_id=delivery_id,
            first_seq=min(seqs) if seqs else scanned_to, last_seq=max(seqs) if seqs else scanned_to,
            events=len(events), attempt=attempt, outcome=kind, redelivery=bool(redelivered),
            status_code=outcome.status_code, error=outcome.error, duration_ms=duration_ms,
        ))
    (log.debug if kind == "delivered" else log.info)(
        "delivery", subscription=sub.id, outcome=kind, events=len(events),
             status=outcome.status_code, attempt=attempt, ms=duration_ms)
    return True
