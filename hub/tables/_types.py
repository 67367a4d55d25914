"""What every table module shares: the one declarative ``Base`` of the engine's tables (on
SQLModel's ``MetaData``), the column types that behave alike on SQLite and PostgreSQL, the
record-id maker and the admin API's scope, role and client-auth vocabularies."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase
from sqlmodel import SQLModel

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware.

    SQLite has no time zone type; without this, values would come back naive.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_record_id() -> str:
    """A UUID version 7 (RFC 9562 §5.7): 48 bits of Unix time in milliseconds, then random.

    Ids made one after the other sort together, so each index keyed by a record's id
    (``records_pkey``, the facets, the change log's) takes a batch's new keys at its right
    edge instead of at random pages all over the index, which cost more as the table grew.
    """
    random = int.from_bytes(os.urandom(10), "big")  # 12 bits of rand_a, 62 of rand_b
    value = (
        (time.time_ns() // 1_000_000) << 80
        | 0x7 << 76
        | (random >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | random & (1 << 62) - 1
    )
    return str(uuid.UUID(int=value))


class Base(DeclarativeBase):
    """The engine's tables (declarative, used through ``__table__`` in the hot paths).

    They share SQLModel's one ``MetaData`` with the SQLModel entities, so Alembic and the
    migration tests see every table in one place.
    """

    metadata = SQLModel.metadata


# SQLite gives autoincrement only to INTEGER PRIMARY KEY (its rowid); PostgreSQL a BIGINT.
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


Scope = Literal["records:read", "records:write", "changes:read", "admin"]


Role = Literal["hub_admin", "agency_admin"]


AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
