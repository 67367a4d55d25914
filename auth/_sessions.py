"""Admin sessions held server-side, in the ``admin_sessions`` table.

A sign-in opens a session: the console keeps its secret in the signed cookie, admin tokens
carry its id (``sid``, the SHA-256 of the secret). Every console request and every admin
token is checked against the row, so deleting it (logout) or every row of an admin (password
reset, change of role, agency or SSO link, deactivation: :func:`end_admin_sessions`, in the
transaction of that change) ends the cookie and the tokens at the next request, in every
process.

Why a table and not Redis, even when the rate limits use Redis: the database is already
shared by every gateway process, the check is one primary-key lookup joined with the
account's row (the lookup the console did before to read the account), and ending the
sessions commits together with the password or role change that ends them; a second store
could not be part of that transaction. No cache sits in front of the lookup, so revocation
takes effect at once everywhere.

Expiry: absolute, ``admin_session_max_seconds`` after sign-in (API logins: the token's
lifetime); idle, ``admin_session_idle_seconds`` after the last request. ``last_seen_at`` is
written at most every :data:`TOUCH_EVERY_SECONDS` per session, so a busy console does not turn
every page into a write; the idle limit is therefore exact to within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hub import Hub
from hub.tables import AdminSession, AdminUser, utcnow

log = structlog.get_logger("rightshub.auth")

CHANNELS = ("console", "api")
TOUCH_EVERY_SECONDS = 60
_PURGE_EVERY = timedelta(minutes=5)
_last_purge: weakref.WeakKeyDictionary[Hub, datetime] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A new session: ``secret`` goes to the console cookie only (never stored), ``sid`` into
    tokens."""

    secret: str
    sid: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LiveSession:
    sid: str
    channel: str
    admin: AdminUser  # the account's row, read in the same lookup


def session_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _purge_expired(hub: Hub, session: AsyncSession, now: datetime) -> None:
    last = _last_purge.get(hub)
    if last is not None and now - last < _PURGE_EVERY:
        return
    _last_purge[hub] = now
    await session.execute(sa.delete(AdminSession).where(AdminSession.expires_at < now))


async def open_session(
    hub: Hub, username: str, *, channel: str, lifetime: int | None = None
) -> OpenedSession:
    """Open a session for an admin who has just proved who they are."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    settings = hub.settings
    seconds = min(lifetime or settings.admin_session_max_seconds,
                  settings.admin_session_max_seconds)
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    opened = OpenedSession(secret, session_id(secret), now + timedelta(seconds=seconds))
    async with hub.db.transaction() as session:
        await _purge_expired(hub, session, now)
        session.add(AdminSession(id=opened.sid, username=username, channel=channel,
                                 created_at=now, last_seen_at=now,
                                 expires_at=opened.expires_at))
    return opened


async def live_session(hub: Hub, sid: str) -> LiveSession | None:
    """The session ``sid`` and its account when both are live: the row exists, neither its
    absolute nor its idle expiry has passed, and the account is active; None otherwise."""
    if not isinstance(sid, str) or len(sid) != 64:
        return None
    async with hub.db.session() as session:
        found = (await session.execute(
            sa.select(AdminSession, AdminUser)
            .join(AdminUser, col(AdminUser.username) == AdminSession.username)
            .where(AdminSession.id == sid)
        )).first()
    if found is None:
        return None
    row, admin = found
    now = utcnow()
    idle = timedelta(seconds=hub.settings.admin_session_idle_seconds)
    if now >= row.expires_at or now - row.last_seen_at >= idle or not admin.active:
        return None
    if now - row.last_seen_at >= timedelta(seconds=TOUCH_EVERY_SECONDS):
        await _touch(hub, sid, now)
    return LiveSession(sid, row.channel, admin)


async def _touch(hub: Hub, sid: str, now: datetime) -> None:
    try:
        async with hub.db.transaction() as session:
            await session.execute(
                sa.update(AdminSession).where(AdminSession.id == sid)
                .values(last_seen_at=now)
            )
    except Exception as exc:  # a read-only database must not sign everyone out
        log.warning("admin_session_not_touched", error_type=type(exc).__name__)


async def end_session(hub: Hub, sid: str) -> None:
    """Logout: this session (its cookie and the tokens that carry its id) ends now."""
    async with hub.db.transaction() as session:
        await session.execute(sa.delete(AdminSession).where(AdminSession.id == sid))


async def end_admin_sessions(session: AsyncSession, username: str) -> int:
    """End every session of ``username`` in the caller's transaction; how many there were."""
    result = await session.execute(
        sa.delete(AdminSession).where(AdminSession.username == username)
    )
    return int(getattr(result, "rowcount", 0) or 0)
