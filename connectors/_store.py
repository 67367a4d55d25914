"""Connector definitions in the database: create, read, update, delete, and their sealed
secrets. Services take a session from the caller and never commit (the caller's admin action
or job owns the transaction)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth import SecretBox, load_secret_key
from connectors._config import ConnectorConfig, OffOrigin, Secrets
from connectors._errors import DestinationRefused
from connectors._kinds import parse_config
from connectors._outbound import OutboundPolicy, OutboundRefused
from hub import Conflict, Hub, InvalidInput, NotFound, Settings, previous_secret_keys
from hub.tables import Connector, ConnectorPublic, utcnow

_KEY_CONTEXT = b"rightshub connector secrets v1"


def secret_box(settings: Settings) -> SecretBox:
    """AES-GCM under ``connector_secret_key``, or under a key derived from the hub's secret
    key (HMAC with a context of its own, so it never equals another use of that key). During
    a rotation of the secret key the box also opens values sealed under the previous one."""
    if settings.connector_secret_key is not None:
        previous = settings.connector_secret_key_previous
        return SecretBox(settings.connector_secret_key.get_secret_value().encode(),
                         [] if previous is None else [previous.get_secret_value().encode()])
    return SecretBox(_derived(load_secret_key(settings)),
                     [_derived(key) for key in previous_secret_keys(settings)])


def _derived(key: bytes) -> bytes:
    return hmac.new(key, _KEY_CONTEXT, hashlib.sha256).digest()


def _aad(connector_id: str) -> bytes:
    # Bound to the connector: a sealed blob copied onto another connector does not open.
    return _KEY_CONTEXT + b":" + connector_id.encode()


def seal(settings: Settings, connector_id: str, secrets: Secrets) -> str | None:
    values = {n: getattr(secrets, n).get_secret_value() for n in secrets.names()}
    if not values:
        return None
    return secret_box(settings).encrypt(json.dumps(values).encode(), context=_aad(connector_id))


def unseal(settings: Settings, connector_id: str, sealed: str | None) -> Secrets:
    if not sealed:
        return Secrets()
    raw = secret_box(settings).decrypt(sealed, context=_aad(connector_id))
    return Secrets.model_validate(json.loads(raw))


# What admins see of a connector (the table's SQLModel entity): never a secret.
ConnectorInfo = ConnectorPublic


def info_of(row: Connector, settings: Settings) -> ConnectorInfo:
    try:
        names = unseal(settings, row.id, row.secrets).names()
    except Exception:  # a changed key: say nothing is usable rather than fail the list
        names = []
    now = utcnow()
    return ConnectorInfo(
        id=row.id, agency=row.agency, name=row.name, kind=row.kind, config=row.config,
        secrets_set=names, enabled=row.enabled, schedule_seconds=row.schedule_seconds,
        next_run_at=row.next_run_at, full_refresh_requested=row.full_refresh_requested,
        failures=row.failures, breaker_open_until=row.breaker_open_until,
        running=row.lease_until is not None and row.lease_until > now,
        created_at=row.created_at, updated_at=row.updated_at,
    )


def validate_config(kind: str, config: Any) -> ConnectorConfig:
    """The definition, or a 400 naming what is wrong."""
    try:
        return parse_config(kind, config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if isinstance((first.get("ctx") or {}).get("error"), OffOrigin):
            raise DestinationRefused(
                f"Cấu hình connector không hợp lệ tại {where}: đường dẫn phải nằm trên "
                "base_url (/...), không được là URL tới máy chủ khác (thông tin xác thực sẽ "
                "bị gửi theo).",
                f"Invalid connector configuration at {where}: {first['msg']}",
            ) from None
        raise InvalidInput(
            f"Cấu hình connector không hợp lệ tại {where}: {first['msg']}",
            f"Invalid connector configuration at {where}: {first['msg']}",
        ) from None
    except ValueError as exc:
        raise InvalidInput(f"Cấu hình connector không hợp lệ: {exc}",
                           f"Invalid connector configuration: {exc}") from None


async def check_destinations(settings: Settings, config: ConnectorConfig) -> None:
    """Refuse, when the connector is saved, a destination the outbound guard would refuse at
    run time (422 naming the reason); the guard still checks at every connection."""
    policy = OutboundPolicy.from_settings(settings)
    for url in config.destinations():
        try:
            await policy.check_url(url)
        except OutboundRefused as exc:
            raise DestinationRefused(exc.message_vi, exc.message_en) from None


def _secrets_dict(secrets: Secrets) -> dict[str, str]:
    return {n: getattr(secrets, n).get_secret_value() for n in secrets.names()}


async def create_connector(
    hub: Hub,
    session: AsyncSession,
    *,
    agency: str,
    name: str,
    kind: str,
    config: dict[str, Any],
    secrets: Secrets | None = None,
    schedule_seconds: int = 3600,
    enabled: bool = True,
    connector_id: str | None = None,
    created_by: str | None = None,
) -> ConnectorInfo:
    parsed = validate_config(kind, config)
    await check_destinations(hub.settings, parsed)
    graph = await hub.catalog.agencies()
    if not graph.exists(agency):
        raise InvalidInput(f"Cơ quan {agency} không có trong danh mục.",
                           f"Agency {agency} is not in the registry.")
    connector_id = connector_id or f"con-{uuid.uuid4().hex[:12]}"
    if await session.get(Connector, connector_id) is not None:
        raise Conflict(f"Đã có connector {connector_id}.",
                       f"Connector {connector_id} already exists.")
    now = utcnow()
    row = Connector(
        id=connector_id, agency=agency, name=name, kind=kind,
        config=parsed.model_dump(mode="json", by_alias=True),
        secrets=seal(hub.settings, connector_id, secrets or Secrets()),
        enabled=enabled, schedule_seconds=schedule_seconds, next_run_at=now,
        full_refresh_requested=False, failures=0, created_at=now, updated_at=now,
        created_by=created_by,
    )
    session.add(row)
    await session.flush()
    return info_of(row, hub.settings)


async def get_row(session: AsyncSession, connector_id: str) -> Connector:
    row = await session.get(Connector, connector_id)
    if row is None:
        raise NotFound(f"Không có connector {connector_id}.", f"Unknown connector {connector_id}.")
    return row


async def get_connector(hub: Hub, connector_id: str) -> ConnectorInfo:
    async with hub.db.session() as session:
        return info_of(await get_row(session, connector_id), hub.settings)


async def list_connectors(hub: Hub, *, agency: str | None = None) -> list[ConnectorInfo]:
    stmt = sa.select(Connector).order_by(Connector.agency, Connector.id)
    if agency is not None:
        stmt = stmt.where(col(Connector.agency) == agency)
    async with hub.db.session() as session:
        rows = (await session.execute(stmt)).scalars().all()
    return [info_of(r, hub.settings) for r in rows]


async def update_connector(
    hub: Hub,
    session: AsyncSession,
    connector_id: str,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    secrets: Secrets | None = None,
    schedule_seconds: int | None = None,
    enabled: bool | None = None,
    audit: dict[str, Any] | None = None,
) -> ConnectorInfo:
    """Change what is given; ``secrets`` replaces the named ones and keeps the others.

    The sealed secrets are bound to the origins they were given for (base_url, an absolute
    token URL): a change of origin without the secrets given again in the same request is a
    409, so a stored secret never follows a connector to a new host. ``audit`` (the caller's
    audit entry's details) gets the old and new origins when they change."""
    row = await get_row(session, connector_id)
    current = unseal(hub.settings, row.id, row.secrets)
    if config is not None:
        parsed = validate_config(row.kind, config)
        await check_destinations(hub.settings, parsed)
        before = validate_config(row.kind, row.config).credential_origins()
        after = parsed.credential_origins()
        if after != before:
            if audit is not None:
                audit["origins_changed"] = {
                    "from": sorted(f"{s}://{h}:{p}" for s, h, p in before),
                    "to": sorted(f"{s}://{h}:{p}" for s, h, p in after),
                }
            given = set(secrets.names()) if secrets is not None else set()
            if not set(current.names()) <= given:
                missing = ", ".join(sorted(set(current.names()) - given))
                raise Conflict(
                    "Địa chỉ nhận thông tin xác thực của connector thay đổi; hãy gửi lại bí "
                    f"mật ({missing}) trong cùng yêu cầu: bí mật cũ không đi theo sang máy "
                    "chủ mới.",
                    "The connector's credentials would go to a new origin; send the secrets "
                    f"({missing}) again in the same request: stored secrets never follow a "
                    "connector to a new host.",
                )
            current = Secrets()  # nothing of the old origin's secrets is kept
        row.config = parsed.model_dump(mode="json", by_alias=True)
    if secrets is not None:
        merged = Secrets.model_validate({**_secrets_dict(current), **_secrets_dict(secrets)})
        row.secrets = seal(hub.settings, row.id, merged)
    if name is not None:
        row.name = name
    if schedule_seconds is not None:
        row.schedule_seconds = schedule_seconds
    if enabled is not None:
        row.enabled = enabled
        if enabled:
            row.failures, row.breaker_open_until = 0, None
    row.updated_at = utcnow()
    await session.flush()
    return info_of(row, hub.settings)


async def delete_connector(session: AsyncSession, connector_id: str) -> None:
    row = await get_row(session, connector_id)
    await session.delete(row)


async def request_run(
    hub: Hub, session: AsyncSession, connector_id: str, *, full_refresh: bool = False,
    requested_by: str | None = None,
) -> ConnectorInfo:
    """Make the connector due now (the worker picks it up within a poll interval); the run
    is recorded as "manual", by ``requested_by``."""
    row = await get_row(session, connector_id)
    row.next_run_at = utcnow()
    row.run_requested_by = (requested_by or "admin")[:200]
    row.breaker_open_until = None
    if full_refresh:
        row.full_refresh_requested = True
    await session.flush()
    return info_of(row, hub.settings)
