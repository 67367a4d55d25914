"""Push to subscribers: subscriptions, delivery attempts and dead letters (issue 5).

Registered on ``hub._tables.Base.metadata`` by the import at the end of ``hub._tables``.

The outbox is the change log itself (``record_changes``): it is written in the same
transaction as every change, by every way in (the executemany and the COPY paths alike), and
``seq`` is commit order. A subscription keeps its own position in that log (``position``,
the last ``seq`` it has handled), advanced only in the transaction that records a
subscriber's 2xx answer (or a dead letter), so nothing is lost when a process dies between a
change's commit and its delivery, and ingest writes no extra row per subscriber.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub._tables import Base, JSONType, UTCDateTime, utcnow

# SQLite gives autoincrement only to INTEGER PRIMARY KEY (its rowid); PostgreSQL a BIGINT.
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Subscription(Base):
    """An agency endpoint that receives the changes its agency may read, filtered.

    ``secret_encrypted`` holds the HMAC signing secret or the OAuth2 client secret, encrypted
    under the hub's secret key. ``leased_until``/``lease_token`` mark the worker delivering
    it now (claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL); ``attempts`` counts the
    failed attempts of the batch at ``position`` and drives the back-off (``next_attempt_at``).
    """

    __tablename__ = "subscriptions"
    __table_args__ = (sa.Index("ix_subscriptions_due", "active", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    agency: Mapped[str] = mapped_column(sa.ForeignKey("agencies.code"), index=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    endpoint_url: Mapped[str] = mapped_column(sa.Text)
    # Filters; None = everything the agency may read.
    record_types: Mapped[list[str] | None] = mapped_column(JSONType)
    owner_agencies: Mapped[list[str] | None] = mapped_column(JSONType)
    themes: Mapped[list[str] | None] = mapped_column(JSONType)
    auth_kind: Mapped[str] = mapped_column(sa.String(20))
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    token_url: Mapped[str | None] = mapped_column(sa.Text)
    oauth_client_id: Mapped[str | None] = mapped_column(sa.String(200))
    oauth_scope: Mapped[str | None] = mapped_column(sa.String(300))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    position: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(sa.String(36))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_events: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(sa.String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryAttempt(Base):
    """One HTTP attempt to deliver a batch of events to a subscriber (the deliveries log)."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        sa.Index("ix_delivery_attempts_subscription", "subscription_id", "id"),
        sa.Index("ix_delivery_attempts_at", "at"),  # pruning after delivery_log_days
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivery_id: Mapped[str] = mapped_column(sa.String(80))
    first_seq: Mapped[int] = mapped_column(sa.BigInteger)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger)
    events: Mapped[int] = mapped_column(sa.Integer)
    attempt: Mapped[int] = mapped_column(sa.Integer)
    # "delivered", "failed" (retried later) or "dead_lettered" (attempts exhausted).
    outcome: Mapped[str] = mapped_column(sa.String(20))
    redelivery: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.Text)
    duration_ms: Mapped[int] = mapped_column(sa.Integer)


class DeadLetter(Base):
    """An event a subscriber did not accept within the configured number of attempts.

    The event itself is rebuilt from ``record_changes`` by ``seq``; ``status`` is "dead",
    "redeliver" (an admin asked for redelivery; the next delivery sends it first) or
    "redelivered".
    """

    __tablename__ = "delivery_dead_letters"
    __table_args__ = (
        sa.Index("ix_delivery_dead_letters_status", "subscription_id", "status", "seq"),
    )

    subscription_id: Mapped[str] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(sa.String(40))
    record_id: Mapped[str] = mapped_column(sa.String(36))
    record_type: Mapped[str] = mapped_column(sa.String(40))
    op: Mapped[str] = mapped_column(sa.String(10))
    attempts: Mapped[int] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    dead_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(20))
    redelivery_requested_by: Mapped[str | None] = mapped_column(sa.String(200))
    redelivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
