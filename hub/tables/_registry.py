"""The dated registry: agencies (a SQLModel entity, also an API object) and the engine tables
beside it, successions between agencies and the controlled vocabularies.

An agency as the admin API shows it, as in the FastAPI full-stack template: ``AgencyBase`` →
the table ``Agency`` → ``AgencyPublic`` (with its successor links, :class:`SuccessorOut`) and
the ``AgencyCreate``/``AgencyUpdate`` bodies (strict: hub/_bodies.py; a link:
:class:`SuccessorIn`). The successor shapes keep the names the contract gives them
(openapi/openapi.json names a schema after its class). No docstrings on the shapes: a
docstring would become the schema's description in the contract."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Literal, Self

import sqlalchemy as sa
from pydantic import Field as PydanticField
from sqlalchemy.orm import Mapped, mapped_column
from sqlmodel import Field, SQLModel

from hub._bodies import Body, IsoDate, optional
from hub.tables._types import (
    Base,
    UTCDateTime,
    utcnow,
)

AgencyLevel = Literal["central", "provincial", "local", "other"]


class AgencyBase(SQLModel):
    """What an agency shows (:class:`AgencyPublic`) and its table stores alike."""

    code: str = Field(primary_key=True, sa_type=sa.String(40))
    name: str = Field(sa_type=sa.String(300))
    kind: str = Field(sa_type=sa.String(40))
    level: str = Field(sa_type=sa.String(20))
    valid_from: date | None = Field(default=None, sa_type=sa.Date)
    valid_until: date | None = Field(default=None, sa_type=sa.Date)
    note: str | None = Field(default=None, sa_type=sa.Text)


class Agency(AgencyBase, table=True):
    """An agency of the dated registry: a ministry, central body or province.

    ``valid_until`` is set for agencies that ceased (e.g. the 63 former provinces merged on
    2025-07-01); their records roll up to successors through :class:`AgencySuccession`.
    """

    __tablename__ = "agencies"

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SuccessorOut(SQLModel):
    code: str
    effective_on: date
    note: str | None

    @classmethod
    def of(cls, row: AgencySuccession) -> Self:
        return cls(code=row.successor_code, effective_on=row.effective_on, note=row.note)


class AgencyPublic(AgencyBase):
    """An agency as admins see it, with the agencies it rolls up to (never ``created_at``)."""

    # Required in the answers (null when not set), unlike in the table.
    valid_from: date | None
    valid_until: date | None
    note: str | None
    successors: list[SuccessorOut]

    @classmethod
    def of(cls, row: Agency, successions: Iterable[AgencySuccession] = ()) -> Self:
        links = sorted((SuccessorOut.of(s) for s in successions), key=lambda s: s.code)
        return cls(code=row.code, name=row.name, kind=row.kind, level=row.level,
                   valid_from=row.valid_from, valid_until=row.valid_until, note=row.note,
                   successors=links)


# Body's strict config over SQLModel's (mypy sees two model_config types; pydantic merges them).
class SuccessorIn(SuccessorOut, Body):  # type: ignore[misc]
    code: str = PydanticField(min_length=1, max_length=40)
    effective_on: IsoDate
    note: str | None = PydanticField(default=None, max_length=2000)


class AgencyCreate(AgencyBase, Body):  # type: ignore[misc]
    code: str = PydanticField(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = PydanticField(min_length=1, max_length=300)
    kind: str = PydanticField(min_length=1, max_length=40)
    level: AgencyLevel
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None
    note: str | None = PydanticField(default=None, max_length=2000)
    successors: list[SuccessorIn] = PydanticField(default_factory=list, max_length=100)


class AgencyUpdate(Body):
    name: str = optional(min_length=1, max_length=300)
    kind: str = optional(min_length=1, max_length=40)
    level: AgencyLevel = optional()
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None
    note: str | None = PydanticField(default=None, max_length=2000)
    # When given, replaces the agency's successor links ([] removes them all).
    successors: list[SuccessorIn] = optional(max_length=100)


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
