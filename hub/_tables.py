"""The central database's tables, all on one ``MetaData`` (SQLModel's).

Two kinds (docs/data-model.md):

* **SQLModel entities**, the tables that are also API objects: :class:`Agency`,
  :class:`AdminUser`, :class:`Client`, :class:`ApiKey` here; ``Connector``, ``Subscription``,
  ``DeliveryAttempt``, ``DeadLetter`` and ``StoredFile`` in the sibling modules. Beside each of
  the admin API's, as in the FastAPI full-stack template: ``XBase`` (the fields shared), the
  table ``X(XBase, table=True)``, ``XPublic(XBase)`` (what admins see, never a secret or its
  hash) and the ``XCreate``/``XUpdate`` bodies (strict: hub/_bodies.py).
* **Engine tables** (:class:`Base`, declarative SQLAlchemy): records, facets, the change log,
  locks, idempotency keys, sessions, keys, audit and the workers' state. Their hot paths use
  ``__table__`` and Core (hub/_bulk.py: ``COPY`` on PostgreSQL), where an object per row would
  only cost.

Types are chosen to behave the same on SQLite (embedded default) and PostgreSQL.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal, Self

import sqlalchemy as sa
from pydantic import Field as PydanticField
from pydantic import SecretStr
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import Field, SQLModel

from hub._bodies import Body, IsoDateTime, optional

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


# --- Security (issue 3): clients, API keys, admin accounts, signing keys, audit ---------------


class ClientBase(SQLModel):
    """What a client shows (:class:`ClientPublic`) and its table stores alike."""

    client_id: str = Field(primary_key=True, sa_type=sa.String(100))
    agency: str = Field(foreign_key="agencies.code", index=True, sa_type=sa.String(40))
    name: str = Field(sa_type=sa.String(300))
    scopes: list[str] = Field(sa_type=JSONType)
    # A column default only: the answers list it as required.
    auth_method: str = Field(
        sa_type=sa.String(40), sa_column_kwargs={"default": "client_secret_basic"}
    )


class Client(ClientBase, table=True):
    """An agency system that calls the hub: OAuth2 client credentials or API keys.

    ``secret_hash`` is an HMAC-SHA256 of the client secret under the hub's secret key (secrets
    are long random strings, so a keyed fast hash is enough and keeps token requests fast).
    ``jwks`` holds the public keys for ``private_key_jwt`` (RFC 7523).
    """

    __tablename__ = "clients"

    secret_hash: str | None = Field(default=None, sa_type=sa.String(64))
    # Id of the secret key that made ``secret_hash`` (None: made before migration 0013).
    hash_key_id: str | None = Field(default=None, sa_type=sa.String(16))
    jwks: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str | None = Field(default=None, sa_type=sa.String(200))


class ClientPublic(ClientBase):
    """A client as admins see it: whether it has a JWKS, never its secret or hash."""

    active: bool
    has_jwks: bool

    @classmethod
    def of(cls, row: Client) -> Self:
        return cls(client_id=row.client_id, agency=row.agency, name=row.name,
                   scopes=list(row.scopes), auth_method=row.auth_method, active=row.active,
                   has_jwks=bool(row.jwks))


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


class AdminUserBase(SQLModel):
    """What an admin account shows (:class:`AdminUserPublic`) and its table stores alike."""

    username: str = Field(primary_key=True, sa_type=sa.String(200))
    display_name: str = Field(sa_type=sa.String(300))
    role: str = Field(sa_type=sa.String(20))
    agency: str | None = Field(foreign_key="agencies.code", sa_type=sa.String(40))


class AdminUser(AdminUserBase, table=True):
    """A console account: ``hub_admin`` (everything) or ``agency_admin`` (its agency only)."""

    __tablename__ = "admin_users"

    password_hash: str | None = Field(default=None, sa_type=sa.String(200))
    sso_subject: str | None = Field(default=None, unique=True, sa_type=sa.String(300))
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AdminUserPublic(AdminUserBase):
    """An admin account as the console and the admin API show it: whether it has a password,
    never the hash."""

    active: bool
    has_password: bool
    sso_subject: str | None
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, row: AdminUser) -> Self:
        return cls(username=row.username, display_name=row.display_name, role=row.role,
                   agency=row.agency, active=row.active,
                   has_password=row.password_hash is not None, sso_subject=row.sso_subject,
                   created_at=row.created_at, last_login_at=row.last_login_at)


# --- The admin API's bodies for these entities (strict: hub/_bodies.py) ----------------------
# No docstrings on the bodies: a docstring would become the schema's description in the
# contract (openapi/openapi.json).

Scope = Literal["records:read", "records:write", "changes:read", "admin"]
Role = Literal["hub_admin", "agency_admin"]
AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]


def _default_scopes() -> list[Scope]:
    return ["records:read", "records:write", "changes:read"]


# Body's strict config over SQLModel's (mypy sees two model_config types; pydantic merges them).
class ClientCreate(ClientBase, Body):  # type: ignore[misc]
    agency: str = PydanticField(min_length=1, max_length=40)
    name: str = PydanticField(min_length=1, max_length=300)
    client_id: str | None = PydanticField(  # type: ignore[assignment]  # made when left out
        default=None, pattern=r"^[A-Za-z0-9._-]{3,100}$"
    )
    scopes: list[Scope] = PydanticField(  # type: ignore[assignment]
        default_factory=_default_scopes, max_length=10
    )
    auth_method: AuthMethod = "client_secret_basic"
    jwks: dict[str, Any] | None = None


class ClientUpdate(Body):
    name: str = optional(min_length=1, max_length=300)
    scopes: list[Scope] = optional(max_length=10)
    active: bool = optional()


class ApiKeyCreate(Body):
    client_id: str = PydanticField(min_length=1, max_length=100)
    name: str = PydanticField(min_length=1, max_length=300)
    scopes: list[Scope] | None = PydanticField(default=None, max_length=10)
    expires_at: IsoDateTime | None = None


class ApiKeyRotate(Body):
    overlap_seconds: int | None = PydanticField(default=None, ge=0, le=90 * 24 * 3600)
    expires_at: IsoDateTime | None = None


class AdminUserCreate(AdminUserBase, Body):  # type: ignore[misc]
    username: str = PydanticField(min_length=3, max_length=200, pattern=r"^[A-Za-z0-9._@+-]+$")
    role: Role = PydanticField()
    agency: str | None = PydanticField(default=None, max_length=40)
    display_name: str | None = PydanticField(  # type: ignore[assignment]
        default=None, max_length=300
    )
    password: SecretStr | None = PydanticField(default=None, min_length=12, max_length=1024)
    sso_subject: str | None = PydanticField(default=None, max_length=300)


class AdminUserUpdate(Body):
    role: Role = optional()
    agency: str | None = PydanticField(default=None, max_length=40)
    active: bool = optional()
    display_name: str = optional(max_length=300)
    sso_subject: str | None = PydanticField(default=None, max_length=300)


class AdminSession(Base):
    """A signed-in admin's session, held server-side (auth/_sessions.py): the console cookie
    carries its secret, admin tokens carry its ``id`` (``sid``), and ending the row ends both.
    ``id`` is the SHA-256 of the secret, so the table alone cannot be replayed as cookies."""

    __tablename__ = "admin_sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        sa.ForeignKey("admin_users.username", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(sa.String(20))  # "console" or "api"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


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


# Tables of later capabilities live in their own modules; importing them here registers them
# on Base.metadata, which Alembic and the migration tests compare against.
from hub import _tables_connectors, _tables_delivery, _tables_files  # noqa: E402, F401
