"""API keys of clients (issue 3): ``ApiKeyBase`` → ``ApiKey`` → ``ApiKeyPublic`` and the
``ApiKeyCreate``/``ApiKeyRotate`` bodies (no docstrings on bodies: see ``_client``)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import sqlalchemy as sa
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from hub._bodies import Body, IsoDateTime
from hub.tables._types import (
    JSONType,
    Scope,
    UTCDateTime,
    utcnow,
)


class ApiKeyBase(SQLModel):
    """What an API key shows (:class:`ApiKeyPublic`) and its table stores alike."""

    key_id: str = Field(primary_key=True, sa_type=sa.String(40))
    client_id: str = Field(
        foreign_key="clients.client_id", index=True, sa_type=sa.String(100)
    )
    name: str = Field(sa_type=sa.String(300))


class ApiKey(ApiKeyBase, table=True):
    """An API key: ``<prefix>_<key_id>_<secret>``; only an HMAC-SHA256 of the whole key is kept.

    Several active keys per client allow overlap during rotation; ``revoked_at`` takes effect
    on the next request because every request looks the key up.
    """

    __tablename__ = "api_keys"

    key_hash: str = Field(sa_type=sa.String(64))
    # Id of the secret key that made ``key_hash`` (None: made before migration 0013).
    hash_key_id: str | None = Field(default=None, sa_type=sa.String(16))
    scopes: list[str] = Field(sa_type=JSONType)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str | None = Field(default=None, sa_type=sa.String(200))


class ApiKeyPublic(ApiKeyBase):
    """An API key as admins see it: its prefix (``rhk_<key_id>``), never the key or its hash."""

    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: ApiKey, prefix: str) -> Self:
        return cls(key_id=row.key_id, client_id=row.client_id, name=row.name,
                   prefix=prefix + row.key_id, scopes=list(row.scopes),
                   expires_at=row.expires_at, last_used_at=row.last_used_at,
                   revoked_at=row.revoked_at, created_at=row.created_at)


class ApiKeyCreate(Body):
    client_id: str = PydanticField(min_length=1, max_length=100)
    name: str = PydanticField(min_length=1, max_length=300)
    scopes: list[Scope] | None = PydanticField(default=None, max_length=10)
    expires_at: IsoDateTime | None = None


class ApiKeyRotate(Body):
    overlap_seconds: int | None = PydanticField(default=None, ge=0, le=90 * 24 * 3600)
    expires_at: IsoDateTime | None = None
