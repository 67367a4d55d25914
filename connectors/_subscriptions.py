"""Subscriptions, their deliveries and dead letters: the services behind the admin API and
the console.

Every function takes the hub and the acting admin principal: tenancy is checked here (a hub
admin sees every subscription; an agency admin only its agency's, and another agency's
subscription is "not found", never an existence oracle), and every write is one audited
admin action (``auth._admins.admin_action``), so the admin API and the console share one
behaviour.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

import schemas
from auth import admin_action, policy
from connectors._config import check_outbound_url
from connectors._errors import DestinationRefused
from connectors._outbound import OutboundPolicy, OutboundRefused, origin_of
from connectors._secretbox import seal_secret
from hub import CHANGE_FEED_LOCK, Conflict, Hub, InvalidInput, NotFound, Principal
from hub.tables import (
    DeadLetter,
    DeadLetterPublic,
    DeliveryAttempt,
    DeliveryAttemptPublic,
    HubLock,
    Subscription,
    SubscriptionPublic,
    utcnow,
)

AuthKind = Literal["hmac", "oauth2"]
MIN_SECRET_LENGTH = 32


# A subscription as admins see it (the table's SQLModel entity): never its secret.
SubscriptionInfo = SubscriptionPublic


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: SubscriptionInfo
    # The HMAC signing secret when the hub generated it: shown once, stored encrypted.
    secret: str | None


# --- validation ------------------------------------------------------------------------------


def _allow_http(hub: Hub) -> bool:
    allowed = hub.settings.delivery_allow_http
    return allowed if allowed is not None else hub.settings.environment != "production"


async def _check_url(hub: Hub, url: str, field: str) -> str:
    """An endpoint the hub may POST to: http(s) (https only in production unless allowed),
    no credentials, query or fragment in it, and an address the outbound guard accepts
    (``connectors._outbound``: public addresses and the hub's own allow-list only; checked
    again at every connection)."""
    parts = urlsplit(url)
    schemes = ("https", "http") if _allow_http(hub) else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise InvalidInput(
            f"{field}: cần một URL tuyệt đối {' hoặc '.join(schemes)}.",
            f"{field}: an absolute {' or '.join(schemes)} URL is required.",
        )
    if parts.username or parts.password:
        raise InvalidInput(
            f"{field}: không đặt thông tin đăng nhập trong URL.",
            f"{field}: credentials do not belong in the URL.",
        )
    try:
        check_outbound_url(url)
    except ValueError as exc:
        raise InvalidInput(f"{field}: URL không hợp lệ (query, fragment hoặc cổng).",
                           f"{field}: {exc}.") from None
    try:
        await OutboundPolicy.from_settings(hub.settings).check_url(url)
    except OutboundRefused as exc:
        raise DestinationRefused(f"{field}: {exc.message_vi}", f"{field}: {exc.message_en}"
                               ) from None
    return url


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    scheme, host, port = origin_of(url)
    return f"{scheme}://{host}:{port}"


async def _check_filters(
    hub: Hub,
    record_types: Sequence[str] | None,
    owner_agencies: Sequence[str] | None,
    themes: Sequence[str] | None,
) -> None:
    unknown_types = sorted(set(record_types or ()) - set(schemas.RECORD_TYPES))
    if unknown_types:
        raise InvalidInput(f"Loại bản ghi không có: {', '.join(unknown_types)}.",
                           f"Unknown record types: {', '.join(unknown_types)}.")
    graph = await hub.catalog.agencies()
    unknown_agencies = sorted(a for a in owner_agencies or () if not graph.exists(a))
    if unknown_agencies:
        raise InvalidInput(f"Cơ quan không có trong danh mục: {', '.join(unknown_agencies)}.",
                           f"Agencies not in the registry: {', '.join(unknown_agencies)}.")
    theme_codes = (await hub.catalog.vocabulary_codes()).get("theme", frozenset())
    unknown_themes = sorted(set(themes or ()) - theme_codes)
    if unknown_themes:
        raise InvalidInput(f"Chủ đề không có: {', '.join(unknown_themes)}.",
                           f"Unknown themes: {', '.join(unknown_themes)}.")


def _check_secret(secret: str) -> None:
    if len(secret) < MIN_SECRET_LENGTH:
        raise InvalidInput(
            f"Khoá bí mật cần ít nhất {MIN_SECRET_LENGTH} ký tự.",
            f"The secret needs at least {MIN_SECRET_LENGTH} characters.",
        )


async def _oauth_fields(
    hub: Hub, token_url: str | None, client_id: str | None, secret: str | None
) -> None:
    if not token_url or not client_id or not secret:
        raise InvalidInput(
            "Xác thực oauth2 cần token_url, oauth_client_id và secret (client secret).",
            "oauth2 authentication needs token_url, oauth_client_id and secret "
            "(the client secret).",
        )
    await _check_url(hub, token_url, "token_url")


def _unknown(subscription_id: str) -> NotFound:
    return NotFound(f"Không có đăng ký nhận tin {subscription_id}.",
                    f"Unknown subscription {subscription_id}.")


async def _owned(
    session: AsyncSession, principal: Principal, subscription_id: str, *, lock: bool = False
) -> Subscription:
    stmt = sa.select(Subscription).where(col(Subscription.id) == subscription_id)
    row = (await session.scalars(stmt.with_for_update() if lock else stmt)).one_or_none()
    if row is None or (not policy.is_hub_admin(principal) and row.agency != principal.agency):
        raise _unknown(subscription_id)
    return row


async def _agency_of(hub: Hub, principal: Principal, subscription_id: str) -> str:
    policy.require_scope(principal, policy.ADMIN)
    async with hub.db.session() as session:
        return (await _owned(session, principal, subscription_id)).agency


async def _dead_count(session: AsyncSession, subscription_id: str) -> int:
    return int(await session.scalar(
        sa.select(sa.func.count()).select_from(DeadLetter).where(
            col(DeadLetter.subscription_id) == subscription_id,
            col(DeadLetter.status) != "redelivered")
    ) or 0)


# --- subscriptions ---------------------------------------------------------------------------


async def create_subscription(
    hub: Hub,
    principal: Principal,
    *,
    agency: str,
    name: str,
    endpoint_url: str,
    record_types: Sequence[str] | None = None,
    owner_agencies: Sequence[str] | None = None,
    themes: Sequence[str] | None = None,
    auth_kind: AuthKind = "hmac",
    secret: str | None = None,
    token_url: str | None = None,
    oauth_client_id: str | None = None,
    oauth_scope: str | None = None,
    deliver_from: Literal["now", "beginning"] = "now",
) -> CreatedSubscription:
    """A new subscription of ``agency``. HMAC: the hub generates the secret unless one is
    given, and returns it once. ``deliver_from``: "now" sends changes committed from now on,
    "beginning" replays the whole change log first."""
    policy.require_tenant(principal, agency)
    graph = await hub.catalog.agencies()
    if not graph.exists(agency):
        raise InvalidInput(f"Cơ quan {agency} không có trong danh mục.",
                           f"Agency {agency} is not in the registry.")
    await _check_url(hub, endpoint_url, "endpoint_url")
    await _check_filters(hub, record_types, owner_agencies, themes)
    generated = None
    if auth_kind == "oauth2":
        await _oauth_fields(hub, token_url, oauth_client_id, secret)
    elif secret is None:
        secret = generated = "whs_" + secrets.token_urlsafe(32)
    assert secret is not None
    _check_secret(secret)
    subscription_id = str(uuid.uuid4())
    now = utcnow()
    async with admin_action(hub, principal, "admin.subscriptions.create",
                            target=f"subscription/{subscription_id}", agency=agency,
                            details={"endpoint_url": endpoint_url, "auth_kind": auth_kind}) as tx:
        position = 0
        if deliver_from == "now":
            # admin_action holds the change-feed lock: nothing commits between this read
            # and the subscription's own commit.
            position = int(await tx.scalar(
                sa.select(HubLock.last_seq).where(HubLock.name == CHANGE_FEED_LOCK)) or 0)
        row = Subscription(
            id=subscription_id, agency=agency, name=name, endpoint_url=endpoint_url,
            record_types=_listed(record_types), owner_agencies=_listed(owner_agencies),
            themes=_listed(themes), auth_kind=auth_kind,
            secret_encrypted=seal_secret(hub, subscription_id, secret),
            token_url=token_url if auth_kind == "oauth2" else None,
            oauth_client_id=oauth_client_id if auth_kind == "oauth2" else None,
            oauth_scope=oauth_scope if auth_kind == "oauth2" else None,
            active=True, position=position, attempts=0, next_attempt_at=now,
            delivered_events=0, created_at=now, created_by=principal.client_id, updated_at=now,
        )
        tx.add(row)
        await tx.flush()
        info = SubscriptionInfo.of(row)
    return CreatedSubscription(info, generated)


def _listed(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else sorted(set(values))


async def list_subscriptions(
    hub: Hub, principal: Principal, *, agency: str | None = None
) -> list[SubscriptionInfo]:
    """Subscriptions the caller administers (a hub admin may narrow to one ``agency``)."""
    agency = policy.tenant_filter(principal, agency)
    async with hub.db.session() as session:
        stmt = sa.select(Subscription).order_by(Subscription.agency, col(Subscription.created_at))
        if agency is not None:
            stmt = stmt.where(col(Subscription.agency) == agency)
        rows = list(await session.scalars(stmt))
        counts = dict((await session.execute(
            sa.select(col(DeadLetter.subscription_id), sa.func.count())
            .where(col(DeadLetter.status) != "redelivered")
            .group_by(DeadLetter.subscription_id)
        )).all())
    return [SubscriptionInfo.of(r, int(counts.get(r.id, 0))) for r in rows]


async def get_subscription(
    hub: Hub, principal: Principal, subscription_id: str
) -> SubscriptionInfo:
    policy.require_scope(principal, policy.ADMIN)
    async with hub.db.session() as session:
        row = await _owned(session, principal, subscription_id)
        return SubscriptionInfo.of(row, await _dead_count(session, subscription_id))


_UPDATABLE = frozenset({"name", "endpoint_url", "record_types", "owner_agencies", "themes",
                        "active", "token_url", "oauth_client_id", "oauth_scope", "secret"})


async def update_subscription(
    hub: Hub, principal: Principal, subscription_id: str, **changes: Any
) -> SubscriptionInfo:
    """Change the endpoint, filters, OAuth2 settings, secret or ``active`` (only the given
    fields). Reactivating clears the back-off: delivery resumes at the next tick."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise InvalidInput(f"Không sửa được: {', '.join(sorted(unknown))}.",
                           f"Cannot change: {', '.join(sorted(unknown))}.")
    agency = await _agency_of(hub, principal, subscription_id)
    if "endpoint_url" in changes:
        await _check_url(hub, changes["endpoint_url"], "endpoint_url")
    if changes.get("token_url") is not None:
        await _check_url(hub, changes["token_url"], "token_url")
    await _check_filters(hub, changes.get("record_types"), changes.get("owner_agencies"),
                         changes.get("themes"))
    secret = changes.pop("secret", None)
    if secret is not None:
        _check_secret(secret)
    details: dict[str, Any] = {
        "fields": sorted([*changes, *(["secret"] if secret else [])])}
    async with admin_action(hub, principal, "admin.subscriptions.update",
                            target=f"subscription/{subscription_id}", agency=agency,
                            details=details) as tx:
        row = await _owned(tx, principal, subscription_id, lock=True)
        # The secret is bound to where it goes (the endpoint, the token URL): a new origin
        # for either demands it again, so a stored secret never follows to a new host.
        moved = {
            name: {"from": _origin(getattr(row, name)), "to": _origin(changes[name])}
            for name in ("endpoint_url", "token_url")
            if name in changes and _origin(changes[name]) != _origin(getattr(row, name))
        }
        if moved:
            details["origins_changed"] = moved
            if secret is None:
                raise Conflict(
                    "Địa chỉ nhận của đăng ký thay đổi sang máy chủ khác; hãy gửi lại secret "
                    "trong cùng yêu cầu: bí mật cũ không đi theo sang máy chủ mới.",
                    "The subscription would send to another origin; send the secret again "
                    "in the same request: a stored secret never follows to a new host.",
                )
        for key in ("record_types", "owner_agencies", "themes"):
            if key in changes:
                changes[key] = _listed(changes[key])
        for key, value in changes.items():
            setattr(row, key, value)
        if secret is not None:
            row.secret_encrypted = seal_secret(hub, row.id, secret)
        if row.auth_kind == "oauth2" and (row.token_url is None or row.oauth_client_id is None):
            raise InvalidInput("Xác thực oauth2 cần token_url và oauth_client_id.",
                               "oauth2 authentication needs token_url and oauth_client_id.")
        if changes.get("active"):
            row.attempts, row.next_attempt_at = 0, utcnow()
        # Any worker delivering under the old settings loses its lease: its outcome is dropped.
        row.leased_until, row.lease_token = None, None
        row.updated_at = utcnow()
        await tx.flush()
        return SubscriptionInfo.of(row, await _dead_count(tx, subscription_id))


async def rotate_subscription_secret(
    hub: Hub, principal: Principal, subscription_id: str
) -> CreatedSubscription:
    """A new HMAC signing secret generated by the hub, returned once."""
    agency = await _agency_of(hub, principal, subscription_id)
    secret = "whs_" + secrets.token_urlsafe(32)
    async with admin_action(hub, principal, "admin.subscriptions.rotate_secret",
                            target=f"subscription/{subscription_id}", agency=agency) as tx:
        row = await _owned(tx, principal, subscription_id, lock=True)
        if row.auth_kind != "hmac":
            raise InvalidInput(
                "Chỉ đăng ký xác thực HMAC mới có khoá ký do hub tạo; với oauth2 hãy sửa secret.",
                "Only HMAC subscriptions have a hub-generated signing secret; for oauth2, "
                "update the secret.",
            )
        row.secret_encrypted = seal_secret(hub, row.id, secret)
        row.updated_at = utcnow()
        await tx.flush()
        info = SubscriptionInfo.of(row, await _dead_count(tx, subscription_id))
    return CreatedSubscription(info, secret)


async def delete_subscription(hub: Hub, principal: Principal, subscription_id: str) -> None:
    """Remove a subscription with its delivery log and dead letters."""
    agency = await _agency_of(hub, principal, subscription_id)
    async with admin_action(hub, principal, "admin.subscriptions.delete",
                            target=f"subscription/{subscription_id}", agency=agency) as tx:
        await _owned(tx, principal, subscription_id, lock=True)
        await tx.execute(sa.delete(DeadLetter)
                         .where(col(DeadLetter.subscription_id) == subscription_id))
        await tx.execute(sa.delete(DeliveryAttempt)
                         .where(col(DeliveryAttempt.subscription_id) == subscription_id))
        await tx.execute(sa.delete(Subscription).where(col(Subscription.id) == subscription_id))


async def replay_subscription(
    hub: Hub, principal: Principal, subscription_id: str, *, after: int
) -> SubscriptionInfo:
    """Send again every change after ``after`` (a change-feed cursor): the subscription's
    position moves back (or forward, skipping changes). Events keep their ids."""
    agency = await _agency_of(hub, principal, subscription_id)
    if after < 0:
        raise InvalidInput("after phải ≥ 0.", "after must be ≥ 0.")
    async with admin_action(hub, principal, "admin.subscriptions.replay",
                            target=f"subscription/{subscription_id}", agency=agency,
                            details={"after": after}) as tx:
        row = await _owned(tx, principal, subscription_id, lock=True)
        row.position, row.attempts, row.next_attempt_at = after, 0, utcnow()
        row.leased_until, row.lease_token = None, None
        row.updated_at = utcnow()
        await tx.flush()
        return SubscriptionInfo.of(row, await _dead_count(tx, subscription_id))


# --- deliveries and dead letters -------------------------------------------------------------


async def list_deliveries(
    hub: Hub, principal: Principal, subscription_id: str, *, limit: int = 50,
    before: int | None = None, outcome: str | None = None,
) -> tuple[list[DeliveryAttemptPublic], int | None]:
    """Delivery attempts, newest first; returns (items, cursor of the next page or None)."""
    await _agency_of(hub, principal, subscription_id)
    stmt = sa.select(DeliveryAttempt).where(col(DeliveryAttempt.subscription_id) == subscription_id)
    if before is not None:
        stmt = stmt.where(col(DeliveryAttempt.id) < before)
    if outcome is not None:
        stmt = stmt.where(col(DeliveryAttempt.outcome) == outcome)
    async with hub.db.session() as session:
        rows = list(await session.scalars(stmt.order_by(col(DeliveryAttempt.id).desc())
                                          .limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1].id if more and rows else None
    return [DeliveryAttemptPublic.model_validate(r) for r in rows], cursor


async def list_dead_letters(
    hub: Hub, principal: Principal, subscription_id: str, *, status: str | None = None,
    limit: int = 100, after: int | None = None,
) -> tuple[list[DeadLetterPublic], int | None]:
    """Dead letters in ``seq`` order; returns (items, cursor of the next page or None)."""
    await _agency_of(hub, principal, subscription_id)
    stmt = sa.select(DeadLetter).where(col(DeadLetter.subscription_id) == subscription_id)
    if status is not None:
        stmt = stmt.where(col(DeadLetter.status) == status)
    if after is not None:
        stmt = stmt.where(col(DeadLetter.seq) > after)
    async with hub.db.session() as session:
        rows = list(await session.scalars(stmt.order_by(col(DeadLetter.seq)).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1].seq if more and rows else None
    return [DeadLetterPublic.model_validate(r) for r in rows], cursor


async def redeliver_dead_letters(
    hub: Hub, principal: Principal, subscription_id: str, *, seqs: Sequence[int] | None = None
) -> int:
    """Queue dead letters for redelivery (all of the subscription's, or those of ``seqs``);
    the next delivery sends them first, with their original event ids. Returns how many."""
    agency = await _agency_of(hub, principal, subscription_id)
    details: dict[str, Any] = {"seqs": None if seqs is None else sorted(seqs)[:100]}
    async with admin_action(hub, principal, "admin.subscriptions.redeliver",
                            target=f"subscription/{subscription_id}", agency=agency,
                            details=details) as tx:
        stmt = sa.update(DeadLetter).where(col(DeadLetter.subscription_id) == subscription_id)
        if seqs is None:
            stmt = stmt.where(col(DeadLetter.status) == "dead")
        else:
            stmt = stmt.where(col(DeadLetter.seq).in_(list(seqs)),
                              col(DeadLetter.status) != "redeliver")
        result = await tx.execute(stmt.values(status="redeliver",
                                              redelivery_requested_by=principal.client_id))
        count = int(getattr(result, "rowcount", 0) or 0)
        details["requested"] = count
        return count

