"""Console and admin-API accounts (issue 3): ``AdminUserBase`` → ``AdminUser`` →
``AdminUserPublic`` and the ``AdminUserCreate``/``AdminUserUpdate`` bodies; and their
server-side sessions (an engine table)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import sqlalchemy as sa
from pydantic import Field as PydanticField
from pydantic import SecretStr
from sqlalchemy.orm import Mapped, mapped_column
from sqlmodel import Field, SQLModel

from hub._bodies import Body, optional
from hub.tables._types import (
    Base,
    Role,
    UTCDateTime,
    utcnow,
)


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
