"""Engine tables of the security model: token-signing keys, used client assertions and the
chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.tables._types import (
    Base,
    JSONType,
    UTCDateTime,
    utcnow,
)


class SigningKey(Base):
    """A key that signs access tokens. The newest ``active`` key signs; retired keys stay in
    the JWKS until every token they signed has expired, so rotation breaks no token in flight.
    The private JWK is stored encrypted under the hub's secret key."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(sa.String(10))
    private_jwk_encrypted: Mapped[str] = mapped_column(sa.Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UsedAssertion(Base):
    """``jti`` values of client assertions already accepted (RFC 7523 §3, replay protection)."""

    __tablename__ = "used_assertions"

    jti: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditEntry(Base):
    """The append-only audit log. Each entry carries the hash of the previous one (keyed: an
    HMAC under a key derived from the secret key), and the head (last seq and hash) is kept in
    ``hub_locks``, so a changed, removed or truncated entry breaks the chain that ``rightshub
    audit verify`` walks; a signed checkpoint kept elsewhere anchors it (``--checkpoint``)."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_agency_seq", "agency", "seq"),)

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(200))
    actor_kind: Mapped[str] = mapped_column(sa.String(20))
    agency: Mapped[str | None] = mapped_column(sa.String(40))
    action: Mapped[str] = mapped_column(sa.String(60))
    target: Mapped[str | None] = mapped_column(sa.String(300))
    request_id: Mapped[str | None] = mapped_column(sa.String(128))
    outcome: Mapped[str] = mapped_column(sa.String(20))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    entry_hash: Mapped[str] = mapped_column(sa.String(64))
    # 1: sha256(prev_hash + entry), entries written before migration 0011; 2: HMAC-SHA256
    # under the audit key derived from the secret key (hub/_audit.py).
    chain_version: Mapped[int] = mapped_column(sa.SmallInteger)
