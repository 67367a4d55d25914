"""The records engine's tables (Core level, declarative on the shared metadata): records, their
facets, the change log, the writers' locks and remembered idempotent answers.

Not SQLModel entities: the hot paths (ingest's ``COPY`` and ``insert … on conflict``, the
feed's keyset reads) use ``__table__`` and Core, where an object per row would only cost
(docs/data-model.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.tables._types import (
    Base,
    JSONType,
    UTCDateTime,
)


class Record(Base):
    """One record of the shared data standard, current version.

    ``seq`` is the change-feed position of its latest change: lists ordered by it are
    keyset-paginated on one indexed integer.
    """

    __tablename__ = "records"
    __table_args__ = (
        sa.UniqueConstraint("owner_agency", "record_type", "source_id", name="uq_records_natural"),
        sa.Index("ix_records_type_seq", "record_type", "seq"),
        sa.Index("ix_records_type_owner_seq", "record_type", "owner_agency", "seq"),
        sa.Index("ix_records_type_kind_seq", "record_type", "kind", "seq"),
        sa.Index("ix_records_type_date", "record_type", "primary_date"),
        sa.Index("ix_records_type_updated", "record_type", "updated_at"),
        # Exact and prefix title matches, the first tiers of search (LIKE 'phrase%' needs the
        # pattern operator class on PostgreSQL unless the database collation is C).
        sa.Index(
            "ix_records_type_title", "record_type", "title_folded",
            postgresql_ops={"title_folded": "text_pattern_ops"},
        ),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    record_type: Mapped[str] = mapped_column(sa.String(40))
    owner_agency: Mapped[str] = mapped_column(sa.ForeignKey("agencies.code"))
    source_id: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str | None] = mapped_column(sa.String(60))
    version: Mapped[int] = mapped_column(sa.Integer)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    visibility: Mapped[str] = mapped_column(sa.String(10))
    deleted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    title: Mapped[str] = mapped_column(sa.Text)
    title_folded: Mapped[str] = mapped_column(sa.Text)
    search_text: Mapped[str] = mapped_column(sa.Text)
    primary_date: Mapped[date | None] = mapped_column(sa.Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seq: Mapped[int] = mapped_column(sa.BigInteger)


class RecordFacet(Base):
    """Multi-valued vocabulary codes of a record (themes, languages, target groups, channels),
    one row each, so filters use an index instead of scanning JSON.

    No foreign key to ``records``: facets are derived from a record's content and written
    only by the ingest pipeline, in the record's own transaction, and records are never
    deleted (a delete is a tombstone). The key's check looked up and locked the record once
    per facet row, ~8 a product: a quarter of the batch's time under the change-feed lock
    (migration 0008)."""

    __tablename__ = "record_facets"
    __table_args__ = (sa.Index("ix_record_facets_lookup", "facet", "code", "record_id"),)

    record_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    facet: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(60), primary_key=True)


class RecordChange(Base):
    """The change log: one row per created, updated or deleted record version.

    ``seq`` is allocated under the change-feed lock and committed in the same transaction,
    so seq order is commit order and a consumer following ``seq`` never misses a change.
    """

    __tablename__ = "record_changes"
    __table_args__ = (sa.Index("ix_record_changes_record", "record_id", "seq"),)

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    record_id: Mapped[str] = mapped_column(sa.String(36))
    record_type: Mapped[str] = mapped_column(sa.String(40))
    owner_agency: Mapped[str] = mapped_column(sa.String(40))
    source_id: Mapped[str] = mapped_column(sa.String(200))
    op: Mapped[str] = mapped_column(sa.String(10))
    version: Mapped[int] = mapped_column(sa.Integer)
    visibility: Mapped[str] = mapped_column(sa.String(10))
    # Visibility of the version this change replaced: lets the feed tell agencies that could
    # read the record before that it was withdrawn from them (shared -> private).
    previous_visibility: Mapped[str | None] = mapped_column(sa.String(10))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSONType)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HubLock(Base):
    """Rows updated at the start of a write transaction to serialise writers portably.

    Updating the ``change_feed`` row takes a row lock on PostgreSQL and the write lock on
    SQLite, held until commit: change ``seq`` values are therefore handed out in commit order.
    """

    __tablename__ = "hub_locks"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    counter: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # For the "audit" row: the hash of the last audit entry (the chain's head).
    head_hash: Mapped[str | None] = mapped_column(sa.String(64))


class IdempotencyKey(Base):
    """A batch answer remembered under the caller's ``Idempotency-Key``.

    Written in the same transaction as the batch, so a retried batch either finds the first
    answer or runs as if for the first time.
    """

    __tablename__ = "idempotency_keys"

    client_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int] = mapped_column(sa.Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
