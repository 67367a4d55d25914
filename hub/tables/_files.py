"""The product archive: stored files and their attachment to records (issue 8).

On the one ``MetaData`` (``SQLModel.metadata``, which the engine tables' ``Base`` shares).

* :class:`StoredFile` is one blob, keyed by its SHA-256: the same bytes uploaded twice (to one
  record or to several) are stored once.
* :class:`RecordFile` attaches a blob to a record with what the uploader said about it (original
  name, media type, language, role). Rows are never deleted: detaching sets ``detached_seq``,
  so the file list of any past change-feed position can be read back (``attached_seq <= seq <
  detached_seq``) and the feed carries the list each version had.
* :class:`FileUpload` is a tus upload in progress: its bytes sit in a part file under the
  archive directory until the last byte arrives.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from sqlmodel import Field, SQLModel

from hub.tables._types import (
    Base,
    JSONType,
    UTCDateTime,
)


class StoredFile(SQLModel, table=True):
    __tablename__ = "stored_files"

    sha256: str = Field(primary_key=True, sa_type=sa.String(64))
    size: int = Field(sa_type=sa.BigInteger)
    media_type: str = Field(sa_type=sa.String(120))
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Bumped whenever an upload finds the blob already stored: orphan collection spares blobs
    # referenced recently, so an attach racing with it never points at deleted bytes.
    last_referenced_at: datetime = Field(sa_type=UTCDateTime)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when orphan collection removed the bytes (no record uses them any more); the row
    # stays because detached attachments (history) still name it. A new upload restores it.
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RecordFile(Base):
    __tablename__ = "record_files"
    __table_args__ = (
        sa.Index("ix_record_files_record", "record_id", "attached_seq"),
        sa.Index("ix_record_files_sha256", "sha256"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    record_id: Mapped[str] = mapped_column(sa.ForeignKey("records.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(sa.ForeignKey("stored_files.sha256"))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    media_type: Mapped[str] = mapped_column(sa.String(120))
    original_name: Mapped[str] = mapped_column(sa.String(255))
    language: Mapped[str | None] = mapped_column(sa.String(10))
    role: Mapped[str] = mapped_column(sa.String(20))
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attached_seq: Mapped[int] = mapped_column(sa.BigInteger)
    attached_by: Mapped[str] = mapped_column(sa.String(200))
    detached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detached_seq: Mapped[int | None] = mapped_column(sa.BigInteger)


class FileUpload(Base):
    """A resumable (tus 1.0) upload. ``upload_offset`` moves only by a conditional update from
    the offset a PATCH started at, so two PATCHes of one upload can never both append."""

    __tablename__ = "file_uploads"
    __table_args__ = (sa.Index("ix_file_uploads_expires", "completed", "expires_at"),)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column(sa.String(36))
    agency: Mapped[str] = mapped_column(sa.String(40))
    client_id: Mapped[str] = mapped_column(sa.String(200))
    upload_length: Mapped[int] = mapped_column(sa.BigInteger)
    upload_offset: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    file_id: Mapped[str | None] = mapped_column(sa.String(36))


class ArchiveOverdueNotice(Base):
    """A state-funded product announced to subscribers as overdue (``archive.overdue``).

    One row per product, ever: the primary key is what makes the worker's periodic check
    announce each product once. ``seq`` comes from the change feed's counter (under its lock),
    so the event takes its place among the changes a subscription follows and carries an
    event id like theirs."""

    __tablename__ = "archive_overdue_notices"

    record_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    released_on: Mapped[date] = mapped_column(sa.Date)
    due_on: Mapped[date] = mapped_column(sa.Date)
    deposit_days: Mapped[int] = mapped_column(sa.Integer)
    funding_source: Mapped[str] = mapped_column(sa.String(40))
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime)
