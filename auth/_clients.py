"""OAuth2 clients of agencies: created with scopes and an authentication method; the secret
is returned once and stored only as an HMAC-SHA256 hash."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth._authority import authority
from auth._secrets import new_secret
from hub import Conflict, Hub, InvalidInput, NotFound
from hub.tables import Agency, Client, ClientPublic

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
CLIENT_SCOPES = ("records:read", "records:write", "changes:read", "admin")
DEFAULT_SCOPES = ("records:read", "records:write", "changes:read")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{3,100}$")


@asynccontextmanager
async def in_transaction(hub: Hub, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
    """The caller's session (the caller commits), or a transaction of our own."""
    if session is not None:
        yield session
        return
    async with hub.db.transaction() as own:
        yield own


# A client as admins see it (the table's SQLModel entity, never its secret's hash).
ClientInfo = ClientPublic


@dataclass(frozen=True)
class CreatedClient:
    client: ClientInfo
    # Shown once, never stored; None for private_key_jwt clients.
    client_secret: str | None


def check_scopes(scopes: Iterable[str], allowed: Iterable[str] = CLIENT_SCOPES) -> list[str]:
    wanted = sorted(set(scopes))
    unknown = sorted(set(wanted) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"Scope không hợp lệ: {', '.join(unknown)}.",
            f"Scopes not allowed here: {', '.join(unknown)}.",
        )
    return wanted


def check_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    """A public JWKS whose keys can verify ES256 or RS256 client assertions."""
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        raise InvalidInput("JWKS không hợp lệ.", "The JWKS is not valid.") from None
    if not keys.keys or any(k.key_type not in ("EC", "RSA") for k in keys.keys):
        raise InvalidInput("JWKS phải có khoá EC hoặc RSA.", "The JWKS needs EC or RSA keys.")
    if any("d" in key for key in jwks.get("keys", [])):
        raise InvalidInput(
            "JWKS chỉ được chứa khoá công khai.", "The JWKS must hold public keys only."
        )
    return {"keys": [k.as_dict(private=False) for k in keys.keys]}


async def create_client(
    hub: Hub,
    *,
    agency: str,
    name: str,
    scopes: Iterable[str] | None = None,
    auth_method: str = "client_secret_basic",
    jwks: dict[str, Any] | None = None,
    client_id: str | None = None,
    created_by: str | None = None,
    session: AsyncSession | None = None,
) -> CreatedClient:
    if auth_method not in AUTH_METHODS:
        raise InvalidInput(
            "Phương thức xác thực không được hỗ trợ.",
            f"auth_method must be one of {', '.join(AUTH_METHODS)}.",
        )
    wanted = check_scopes(DEFAULT_SCOPES if scopes is None else scopes)
    if auth_method == "private_key_jwt":
        if not jwks:
            raise InvalidInput(
                "Client private_key_jwt cần JWKS công khai.",
                "A private_key_jwt client needs its public JWKS.",
            )
        jwks = check_jwks(jwks)
    elif jwks:
        jwks = check_jwks(jwks)
    client_id = client_id or f"{agency.lower()}-{secrets.token_hex(6)}"
    if not _CLIENT_ID.match(client_id):
        raise InvalidInput("client_id không hợp lệ.", "Invalid client_id.")
    auth = authority(hub)
    secret = None if auth_method == "private_key_jwt" else new_secret()
    async with in_transaction(hub, session) as tx:
        if await tx.get(Agency, agency) is None:
            raise NotFound(f"Không có cơ quan {agency}.", f"Unknown agency {agency}.")
        if await tx.get(Client, client_id) is not None:
            raise Conflict(f"Client {client_id} đã tồn tại.", f"Client {client_id} exists.")
        row = Client(
            client_id=client_id, agency=agency, name=name, scopes=wanted,
            auth_method=auth_method, secret_hash=auth.box.hash(secret) if secret else None,
            hash_key_id=auth.box.key_id if secret else None, jwks=jwks, active=True,
            created_by=created_by,
        )
        tx.add(row)
        await tx.flush()
        info = ClientInfo.of(row)
    auth.forget_client(client_id)
    return CreatedClient(info, secret)


async def get_client(hub: Hub, client_id: str) -> ClientInfo | None:
    async with hub.db.session() as session:
        row = await session.get(Client, client_id)
    return None if row is None else ClientInfo.of(row)


async def list_clients(hub: Hub, *, agency: str | None = None) -> list[ClientInfo]:
    query = sa.select(Client).order_by(Client.agency, Client.client_id)
    if agency is not None:
        query = query.where(col(Client.agency) == agency)
    async with hub.db.session() as session:
        return [ClientInfo.of(row) for row in (await session.scalars(query)).all()]


async def _update_client(
    hub: Hub, client_id: str, session: AsyncSession | None, **values: Any
) -> ClientInfo:
    async with in_transaction(hub, session) as tx:
        row = await tx.get(Client, client_id)
        if row is None:
            raise NotFound(f"Không có client {client_id}.", f"Unknown client {client_id}.")
        for name, value in values.items():
            setattr(row, name, value)
        await tx.flush()
        info = ClientInfo.of(row)
    authority(hub).forget_client(client_id)
    return info


async def set_client_active(
    hub: Hub, client_id: str, active: bool, *, session: AsyncSession | None = None
) -> ClientInfo:
    """Deactivating a client stops its tokens and API keys at once in this process (within
    a few seconds in others) and refuses new tokens."""
    return await _update_client(hub, client_id, session, active=active)


async def rotate_client_secret(
    hub: Hub, client_id: str, *, session: AsyncSession | None = None
) -> CreatedClient:
    """A new secret for a secret-based client; the old one stops working at once."""
    current = await get_client(hub, client_id)
    if current is not None and current.auth_method == "private_key_jwt":
        raise InvalidInput(
            "Client private_key_jwt không dùng secret.", "private_key_jwt clients have no secret."
        )
    secret = new_secret()
    box = authority(hub).box
    info = await _update_client(
        hub, client_id, session, secret_hash=box.hash(secret), hash_key_id=box.key_id
    )
    return CreatedClient(info, secret)
