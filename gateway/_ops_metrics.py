"""Operational gauges read at scrape time: database and Redis reachability, the delivery
backlog, dead letters and failing connectors.

They are computed from the shared database when ``/metrics`` is scraped, not counted in
memory, because the worker processes (``rightshub worker``) serve no HTTP: every gateway
process reports the same hub-wide values, so alert rules take ``max()`` over instances.
"""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client import Gauge
from sqlmodel import col

from auth import RateLimiter
from hub import Hub
from hub.tables import Connector, DeadLetter, RecordChange, Subscription, utcnow

DATABASE_UP = Gauge("rightshub_database_up", "1 when the database answered SELECT 1")
COUNTER_STORE_UP = Gauge(
    "rightshub_rate_limit_storage_up",
    "1 when the rate-limit counter store (memory or Redis) answers", ["storage"])
DELIVERY_BACKLOG = Gauge(
    "rightshub_delivery_backlog_events",
    "Change-log events not yet handled by active subscriptions (sum over subscriptions)")
DELIVERY_FAILING = Gauge(
    "rightshub_delivery_subscriptions_failing",
    "Active subscriptions whose current batch has failed at least once")
DEAD_LETTERS = Gauge("rightshub_delivery_dead_letters",
                     "Dead letters waiting for an admin (status dead)")
CONNECTORS_FAILING = Gauge("rightshub_connectors_failing",
                           "Enabled connectors whose last run failed (consecutive failures > 0)")
CONNECTORS_BREAKER_OPEN = Gauge("rightshub_connectors_breaker_open",
                                "Enabled connectors with the circuit breaker open now")


async def refresh(hub: Hub, limiter: RateLimiter | None) -> None:
    """Set every gauge; a database that does not answer sets ``rightshub_database_up`` 0 and
    leaves the other database gauges at their last values."""
    if limiter is not None:
        try:
            up = await limiter.storage.check()
        except Exception:  # a down Redis is a value to report, not an error of /metrics
            up = False
        COUNTER_STORE_UP.labels(limiter.storage_name.removeprefix("async+")).set(int(up))
    try:
        async with hub.db.session() as session:
            await session.execute(sa.text("SELECT 1"))
            head = (await session.execute(sa.select(sa.func.max(RecordChange.seq)))).scalar()
            active = sa.select(col(Subscription.position), col(Subscription.attempts)).where(
                col(Subscription.active).is_(True))
            rows = (await session.execute(active)).all()
            dead = (await session.execute(sa.select(sa.func.count()).select_from(DeadLetter)
                                          .where(col(DeadLetter.status) == "dead"))).scalar_one()
            failing = (await session.execute(
                sa.select(sa.func.count()).select_from(Connector)
                .where(col(Connector.enabled).is_(True), col(Connector.failures) > 0))).scalar_one()
            breaker = (await session.execute(
                sa.select(col(Connector.breaker_open_until))
                .where(col(Connector.enabled).is_(True),
                       col(Connector.breaker_open_until).is_not(None))
            )).scalars().all()
    except Exception:
        DATABASE_UP.set(0)
        return
    DATABASE_UP.set(1)
    DELIVERY_BACKLOG.set(sum(max(0, (head or 0) - position) for position, _ in rows))
    DELIVERY_FAILING.set(sum(1 for _, attempts in rows if attempts > 0))
    DEAD_LETTERS.set(dead)
    CONNECTORS_FAILING.set(failing)
    moment = utcnow()
    CONNECTORS_BREAKER_OPEN.set(sum(1 for until in breaker if until is not None and until > moment))
