"""Clients, the agency systems that call the hub (issue 3): ``ClientBase`` → the table
``Client`` → ``ClientPublic`` (what admins see) and the ``ClientCreate``/``ClientUpdate``
bodies, as in the FastAPI full-stack template. No docstrings on the bodies: a docstring would
become the schema's description in the contract (openapi/openapi.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import sqlalchemy as sa
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from hub._bodies import Body, optional
from hub.tables._types import (
    AuthMethod,
    JSONType,
    Scope,
    UTCDateTime,
    utcnow,
)


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
