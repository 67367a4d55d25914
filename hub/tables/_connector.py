"""Pull connectors: configurations, runs and checkpoints (issue 5).

On the one ``MetaData`` (``SQLModel.metadata``, which the engine tables' ``Base`` shares).

A connector row is also its schedule and its lease: a worker claims a due connector by
setting ``lease_owner``/``lease_until`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a
conditional update everywhere), renews the lease while it runs, and every page it commits
checks that it still holds it, so two workers never commit for one connector at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from sqlmodel import Field, SQLModel

from hub.tables._types import (
    Base,
    JSONType,
    UTCDateTime,
    utcnow,
)


class ConnectorBase(SQLModel):
    """What a connector shows (:class:`ConnectorPublic`) and its table stores alike."""

    id: str = Field(primary_key=True, sa_type=sa.String(64))
    agency: str = Field(foreign_key="agencies.code", index=True, sa_type=sa.String(40))
    name: str = Field(sa_type=sa.String(300))
    kind: str = Field(sa_type=sa.String(20))
    config: dict[str, Any] = Field(sa_type=JSONType)


class Connector(ConnectorBase, table=True):
    """A pull connector of one agency: ``kind`` "rest" (an agency API) or "hub" (another
    RightsHub's change feed). ``config`` holds no secret; ``secrets`` is AES-GCM sealed."""

    __tablename__ = "connectors"
    __table_args__ = (sa.Index("ix_connectors_due", "enabled", "next_run_at"),)

    secrets: str | None = Field(default=None, sa_type=sa.Text)
    enabled: bool = Field(default=True)
    schedule_seconds: int = Field(default=3600)
    next_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The next run reads everything again (and tombstones what is missing, if mapped so).
    full_refresh_requested: bool = Field(default=False)
    lease_owner: str | None = Field(default=None, sa_type=sa.String(200))
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Circuit breaker: consecutive failed runs; while open, the connector is not run.
    failures: int = Field(default=0)
    breaker_open_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str | None = Field(default=None, sa_type=sa.String(200))
    # An admin asked for a run (API or console): the worker records it as "manual", by them.
    run_requested_by: str | None = Field(default=None, sa_type=sa.String(200))


class ConnectorPublic(ConnectorBase):
    """What admins see of a connector: never a secret, only which ones are set
    (``secrets_set``); ``running`` while a worker holds its lease. Built by
    ``connectors._store.info_of``, which can unseal the secrets to name them."""

    secrets_set: list[str]
    enabled: bool
    schedule_seconds: int
    next_run_at: datetime | None
    full_refresh_requested: bool
    failures: int
    breaker_open_until: datetime | None
    running: bool
    created_at: datetime
    updated_at: datetime


class ConnectorRun(Base):
    """One run: its counts are updated in the same transaction as each page's records."""

    __tablename__ = "connector_runs"
    __table_args__ = (sa.Index("ix_connector_runs_connector", "connector_id", "started_at"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    connector_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connectors.id", ondelete="CASCADE")
    )
    worker: Mapped[str | None] = mapped_column(sa.String(200))
    trigger: Mapped[str] = mapped_column(sa.String(20))  # schedule | manual
    requested_by: Mapped[str | None] = mapped_column(sa.String(200))  # for a manual run
    # "pull", or "reconcile" (a key-only sweep and its repairs; see connectors._reconcile).
    kind: Mapped[str] = mapped_column(sa.String(20), default="pull", server_default="pull")
    full_refresh: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    status: Mapped[str] = mapped_column(sa.String(20))  # running|succeeded|failed|interrupted
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    pages: Mapped[int] = mapped_column(sa.Integer, default=0)
    fetched: Mapped[int] = mapped_column(sa.Integer, default=0)
    created: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated: Mapped[int] = mapped_column(sa.Integer, default=0)
    unchanged: Mapped[int] = mapped_column(sa.Integer, default=0)
    deleted: Mapped[int] = mapped_column(sa.Integer, default=0)
    rejected: Mapped[int] = mapped_column(sa.Integer, default=0)
    # Every error of the run; ``errors`` keeps the first ``MAX_RUN_ERRORS`` of them.
    errors_total: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    retries: Mapped[int] = mapped_column(sa.Integer, default=0)
    # Shifts of the source met while paging (a full refresh that met one tombstones nothing).
    shifts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # A reconciliation's findings: live at the source but not in the hub, newer at the
    # source than the version the hub holds, and gone from the source without a tombstone.
    missing: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    stale: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    gone: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    errors: Mapped[list[Any]] = mapped_column(JSONType)


class ConnectorCheckpoint(Base):
    """Where a stream stands: committed with the records of the page it covers."""

    __tablename__ = "connector_checkpoints"

    connector_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connectors.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConnectorSeen(Base):
    """Keys seen by the full refresh in progress: what is missing at its end is tombstoned.
    Written with each page, so a resumed full refresh still knows what it saw."""

    __tablename__ = "connector_seen"

    connector_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connectors.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    source_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)


class ConnectorKey(Base):
    """The replication-key value (the agency's update time, as it wrote it) of the version of
    each record this connector last ingested: what a reconciliation's key-only sweep compares
    with to find stale records. Written with the page that ingested the record."""

    __tablename__ = "connector_keys"

    connector_id: Mapped[str] = mapped_column(
        sa.ForeignKey("connectors.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    source_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    cursor_value: Mapped[str | None] = mapped_column(sa.String(100))
