"""The dated registry: agencies (a SQLModel entity, also an API object) and the engine tables
beside it, successions between agencies and the controlled vocabularies."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from sqlmodel import Field, SQLModel

from hub.tables._types import (
    Base,
    UTCDateTime,
    utcnow,
)


class Agency(SQLModel, table=True):
    """An agency of the dated registry: a ministry, central body or province.

    ``valid_until`` is set for agencies that ceased (e.g. the 63 former provinces merged on
    2025-07-01); their records roll up to successors through :class:`AgencySuccession`.
    """

    __tablename__ = "agencies"

    code: str = Field(primary_key=True, sa_type=sa.String(40))
    name: str = Field(sa_type=sa.String(300))
    kind: str = Field(sa_type=sa.String(40))
    level: str = Field(sa_type=sa.String(20))
    valid_from: date | None = Field(default=None, sa_type=sa.Date)
    valid_until: date | None = Field(default=None, sa_type=sa.Date)
    note: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AgencySuccession(Base):
    __tablename__ = "agency_successions"

    predecessor_code: Mapped[str] = mapped_column(
        sa.ForeignKey("agencies.code"), primary_key=True
    )
    successor_code: Mapped[str] = mapped_column(sa.ForeignKey("agencies.code"), primary_key=True)
    effective_on: Mapped[date] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.Text)


class Vocabulary(Base):
    __tablename__ = "vocabularies"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    label_vi: Mapped[str] = mapped_column(sa.String(300))
    label_en: Mapped[str] = mapped_column(sa.String(300))
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    provisional: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VocabularyTerm(Base):
    __tablename__ = "vocabulary_terms"

    vocabulary: Mapped[str] = mapped_column(
        sa.ForeignKey("vocabularies.name"), primary_key=True
    )
    code: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    label_vi: Mapped[str] = mapped_column(sa.String(300))
    label_en: Mapped[str] = mapped_column(sa.String(300))
    group: Mapped[str | None] = mapped_column("term_group", sa.String(60))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
