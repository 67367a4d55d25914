"""Push to subscribers: subscriptions, delivery attempts and dead letters (issue 5).

On the one ``MetaData`` (``SQLModel.metadata``, which the engine tables' ``Base`` shares).

The outbox is the change log itself (``record_changes``): it is written in the same
transaction as every change, by every way in (the executemany and the COPY paths alike), and
``seq`` is commit order. A subscription keeps its own position in that log (``position``,
the last ``seq`` it has handled), advanced only in the transaction that records a
subscriber's 2xx answer (or a dead letter), so nothing is lost when a process dies between a
change's commit and its delivery, and ingest writes no extra row per subscriber.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

import sqlalchemy as sa
from pydantic import AnyHttpUrl, SecretStr
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from hub._bodies import Body, optional
from hub.tables._types import (
    AutoId,
    JSONType,
    UTCDateTime,
    utcnow,
)


class SubscriptionBase(SQLModel):
    """What a subscription shows (:class:`SubscriptionPublic`) and its table stores alike."""

    id: str = Field(primary_key=True, sa_type=sa.String(36))
    agency: str = Field(foreign_key="agencies.code", index=True, sa_type=sa.String(40))
    name: str = Field(sa_type=sa.String(300))
    endpoint_url: str = Field(sa_type=sa.Text)
    # Filters; None = everything the agency may read.
    record_types: list[str] | None = Field(sa_type=JSONType)
    owner_agencies: list[str] | None = Field(sa_type=JSONType)
    themes: list[str] | None = Field(sa_type=JSONType)
    auth_kind: str = Field(sa_type=sa.String(20))


class Subscription(SubscriptionBase, table=True):
    """An agency endpoint that receives the changes its agency may read, filtered.

    ``secret_encrypted`` holds the HMAC signing secret or the OAuth2 client secret, encrypted
    under the hub's secret key. ``leased_until``/``lease_token`` mark the worker delivering
    it now (claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL); ``attempts`` counts the
    failed attempts of the batch at ``position`` and drives the back-off (``next_attempt_at``).
    """

    __tablename__ = "subscriptions"
    __table_args__ = (sa.Index("ix_subscriptions_due", "active", "next_attempt_at"),)

    secret_encrypted: str = Field(sa_type=sa.Text)
    token_url: str | None = Field(default=None, sa_type=sa.Text)
    oauth_client_id: str | None = Field(default=None, sa_type=sa.String(200))
    oauth_scope: str | None = Field(default=None, sa_type=sa.String(300))
    active: bool = Field(default=True)
    position: int = Field(default=0, sa_type=sa.BigInteger)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    leased_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_token: str | None = Field(default=None, sa_type=sa.String(36))
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    last_delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_events: int = Field(default=0, sa_type=sa.BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str | None = Field(default=None, sa_type=sa.String(200))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SubscriptionPublic(SubscriptionBase):
    """A subscription as admins see it: never its secret; ``dead_letters`` counts the events
    still dead or waiting for redelivery."""

    token_url: str | None
    oauth_client_id: str | None
    oauth_scope: str | None
    active: bool
    position: int = Field(description="The last change-feed seq handled")
    attempts: int = Field(description="Failed attempts of the batch being delivered")
    next_attempt_at: datetime
    last_error: str | None
    last_delivered_at: datetime | None
    delivered_events: int
    dead_letters: int
    created_at: datetime
    created_by: str | None
    updated_at: datetime

    @classmethod
    def of(cls, row: Subscription, dead_letters: int = 0) -> Self:
        return cls(
            id=row.id, agency=row.agency, name=row.name, endpoint_url=row.endpoint_url,
            record_types=row.record_types, owner_agencies=row.owner_agencies,
            themes=row.themes, auth_kind=row.auth_kind, token_url=row.token_url,
            oauth_client_id=row.oauth_client_id, oauth_scope=row.oauth_scope,
            active=row.active, position=row.position, attempts=row.attempts,
            next_attempt_at=row.next_attempt_at, last_error=row.last_error,
            last_delivered_at=row.last_delivered_at, delivered_events=row.delivered_events,
            dead_letters=dead_letters, created_at=row.created_at, created_by=row.created_by,
            updated_at=row.updated_at,
        )


# The bodies' field types (the data standard's Code and Url, in schemas, are stricter ones of
# its own: vocabulary codes, normalised URLs stored in records).
Code = Annotated[str, PydanticField(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")]
AgencyCode = Annotated[
    str, PydanticField(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
]
Url = Annotated[AnyHttpUrl, PydanticField(description="http(s) URL; production requires https")]


# No docstring on the bodies: it would become the schema's description in the contract.
class _SubscriptionBody(Body):
    def service_fields(self) -> dict[str, Any]:
        """The fields given, as the subscription service takes them: URLs as text, the
        secret unwrapped (the admin API and the console both call it)."""
        values = self.model_dump(exclude_unset=True)
        for key in ("endpoint_url", "token_url"):
            if values.get(key) is not None:
                values[key] = str(values[key])
        if values.get("secret") is not None:
            values["secret"] = values["secret"].get_secret_value()
        return values


# Not on SubscriptionBase: the hub makes the id, and the URLs arrive as URLs.
class SubscriptionCreate(_SubscriptionBody):
    agency: AgencyCode
    name: str = PydanticField(min_length=1, max_length=300)
    endpoint_url: Url
    record_types: list[Code] | None = PydanticField(default=None, max_length=20,
                                                    description="None: every record type")
    owner_agencies: list[AgencyCode] | None = PydanticField(
        default=None, max_length=200,
        description="Only records of these agencies (and those they succeeded); None: all")
    themes: list[Code] | None = PydanticField(
        default=None, max_length=100, description="Only records with one of these themes")
    auth_kind: Literal["hmac", "oauth2"] = "hmac"
    secret: SecretStr | None = PydanticField(
        default=None, min_length=32, max_length=500,
        description="hmac: the signing secret (generated and shown once when omitted); "
                    "oauth2: the client secret")
    token_url: Url | None = None
    oauth_client_id: str | None = PydanticField(default=None, min_length=1, max_length=200)
    oauth_scope: str | None = PydanticField(default=None, max_length=300)
    deliver_from: Literal["now", "beginning"] = "now"


class SubscriptionUpdate(_SubscriptionBody):
    name: str = optional(min_length=1, max_length=300)
    endpoint_url: Url = optional()
    record_types: list[Code] | None = PydanticField(default=None, max_length=20)
    owner_agencies: list[AgencyCode] | None = PydanticField(default=None, max_length=200)
    themes: list[Code] | None = PydanticField(default=None, max_length=100)
    active: bool = optional()
    secret: SecretStr = optional(min_length=32, max_length=500)
    token_url: Url | None = None
    oauth_client_id: str | None = PydanticField(default=None, min_length=1, max_length=200)
    oauth_scope: str | None = PydanticField(default=None, max_length=300)


DeliveryOutcome = Literal["delivered", "failed", "dead_lettered"]
DeadLetterStatus = Literal["dead", "redeliver", "redelivered"]


class DeliveryAttemptBase(SQLModel):
    """What a delivery attempt shows (:class:`DeliveryAttemptPublic`) and its table stores
    alike: all but the subscription it belongs to."""

    id: int | None = Field(
        default=None, primary_key=True, sa_type=AutoId, sa_column_kwargs={"autoincrement": True}
    )
    at: datetime = Field(sa_type=UTCDateTime)
    delivery_id: str = Field(sa_type=sa.String(80))
    first_seq: int = Field(sa_type=sa.BigInteger)
    last_seq: int = Field(sa_type=sa.BigInteger)
    events: int
    attempt: int
    # "delivered", "failed" (retried later) or "dead_lettered" (attempts exhausted).
    outcome: str = Field(sa_type=sa.String(20))
    redelivery: bool = Field(default=False)
    status_code: int | None = Field(default=None)
    error: str | None = Field(default=None, sa_type=sa.Text)
    duration_ms: int


class DeliveryAttempt(DeliveryAttemptBase, table=True):
    """One HTTP attempt to deliver a batch of events to a subscriber (the deliveries log)."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        sa.Index("ix_delivery_attempts_subscription", "subscription_id", "id"),
        sa.Index("ix_delivery_attempts_at", "at"),  # pruning after delivery_log_days
    )

    subscription_id: str = Field(
        foreign_key="subscriptions.id", ondelete="CASCADE", sa_type=sa.String(36)
    )


class DeliveryAttemptPublic(DeliveryAttemptBase):
    """A delivery attempt as admins see it (required fields: null when not set)."""

    id: int  # always set once stored
    outcome: DeliveryOutcome
    redelivery: bool
    status_code: int | None
    error: str | None


class DeadLetterBase(SQLModel):
    """What a dead letter shows (:class:`DeadLetterPublic`) and its table stores alike: all
    but the subscription it belongs to."""

    seq: int = Field(
        primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    event_id: str = Field(sa_type=sa.String(40))
    record_id: str = Field(sa_type=sa.String(36))
    record_type: str = Field(sa_type=sa.String(40))
    op: str = Field(sa_type=sa.String(10))
    attempts: int
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    dead_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(sa_type=sa.String(20))
    redelivery_requested_by: str | None = Field(default=None, sa_type=sa.String(200))
    redelivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeadLetter(DeadLetterBase, table=True):
    """An event a subscriber did not accept within the configured number of attempts.

    The event itself is rebuilt from ``record_changes`` by ``seq``; ``status`` is "dead",
    "redeliver" (an admin asked for redelivery; the next delivery sends it first) or
    "redelivered".
    """

    __tablename__ = "delivery_dead_letters"
    __table_args__ = (
        # The key's order as before the shapes moved to DeadLetterBase: subscription first.
        sa.PrimaryKeyConstraint("subscription_id", "seq"),
        sa.Index("ix_delivery_dead_letters_status", "subscription_id", "status", "seq"),
    )

    subscription_id: str = Field(
        primary_key=True, foreign_key="subscriptions.id", ondelete="CASCADE",
        sa_type=sa.String(36),
    )


class DeadLetterPublic(DeadLetterBase):
    """A dead letter as admins see it (required fields: null when not set)."""

    last_error: str | None
    status: DeadLetterStatus
    redelivery_requested_by: str | None
    redelivered_at: datetime | None
