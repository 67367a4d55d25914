"""Admin accounts of the console: local accounts with argon2id password hashes, roles
``hub_admin`` (everything) and ``agency_admin`` (its agency only), server-side sessions
(auth/_sessions.py) with short-lived access tokens bound to them (``kind: "admin"``, ``sid``),
and the mapping of an OIDC identity to an account.

Login failures look the same whether the user is unknown, inactive, SSO-only or gave a wrong
password, and cost the same (an argon2 verification against a dummy hash when there is no
hash to check). Repeated failures are slowed per (username, address), limited per address,
and lock an account only well above that (auth/_login_throttle.py): 429 with ``Retry-After``.
A password reset and a change of role, agency, SSO link or active flag end every session of
the account, and so its tokens, in the same transaction.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth._login_throttle import LoginThrottle, Refusal
from auth._policy import AGENCY_ADMIN, HUB_ADMIN, ROLES, admin_scopes
from auth._sessions import end_admin_sessions, open_session
from auth._tokens import IssuedToken, issue_access_token
from hub import (
    Conflict,
    Hub,
    HubError,
    InvalidInput,
    NotFound,
    Principal,
    RateLimited,
    Unauthenticated,
    append_audit,
    audit_in_own_transaction,
    take_change_feed_lock,
)
from hub.tables import AdminUser, AdminUserPublic, Agency, utcnow

log = structlog.get_logger("rightshub.auth")

MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{3,200}$")
_hasher = PasswordHasher()
# Verified against when there is no hash to check, so failures cost the same.
_DUMMY_HASH = _hasher.hash("rightshub-dummy-password-for-constant-time")


# What the console and the admin API show of an account (the table's SQLModel entity).
AdminInfo = AdminUserPublic


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.",
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
        )
    return _hasher.hash(password)


def _check_role(role: str, agency: str | None) -> None:
    if role not in ROLES:
        raise InvalidInput("Vai trò không hợp lệ.", f"role must be one of {', '.join(ROLES)}.")
    if role == AGENCY_ADMIN and not agency:
        raise InvalidInput(
            "Quản trị viên cơ quan cần mã cơ quan.", "An agency_admin needs an agency."
        )
    if role == HUB_ADMIN and agency:
        raise InvalidInput(
            "Quản trị viên hub không thuộc cơ quan nào.", "A hub_admin has no agency."
        )


@asynccontextmanager
async def _tx(hub: Hub, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
    if session is not None:
        yield session
        return
    async with hub.db.transaction() as own:
        yield own


async def create_admin(
    hub: Hub,
    *,
    username: str,
    role: str,
    agency: str | None = None,
    password: str | None = None,
    display_name: str | None = None,
    sso_subject: str | None = None,
    session: AsyncSession | None = None,
) -> AdminInfo:
    if not _USERNAME.match(username):
        raise InvalidInput("Tên đăng nhập không hợp lệ.", "Invalid username.")
    _check_role(role, agency)
    if password is None and sso_subject is None:
        raise InvalidInput(
            "Cần mật khẩu hoặc định danh SSO.", "A password or an SSO subject is needed."
        )
    password_hash = hash_password(password) if password is not None else None
    async with _tx(hub, session) as tx:
        if agency is not None and await tx.get(Agency, agency) is None:
            raise NotFound(f"Không có cơ quan {agency}.", f"Unknown agency {agency}.")
        if await tx.get(AdminUser, username) is not None:
            raise Conflict(f"Tài khoản {username} đã tồn tại.", f"Admin {username} exists.")
        if sso_subject is not None and await tx.scalar(
            sa.select(col(AdminUser.username)).where(col(AdminUser.sso_subject) == sso_subject)
        ):
            raise Conflict("Định danh SSO đã được dùng.", "The SSO subject is already linked.")
        row = AdminUser(
            username=username, display_name=display_name or username, role=role,
            agency=agency, password_hash=password_hash, sso_subject=sso_subject, active=True,
            created_at=utcnow(),
        )
        tx.add(row)
        await tx.flush()
        return AdminInfo.of(row)


async def get_admin(
    hub: Hub, username: str, *, session: AsyncSession | None = None
) -> AdminInfo | None:
    if session is not None:
        row = await session.get(AdminUser, username)
        return None if row is None else AdminInfo.of(row)
    async with hub.db.session() as own:
        row = await own.get(AdminUser, username)
    return None if row is None else AdminInfo.of(row)


async def list_admins(hub: Hub, *, agency: str | None = None) -> list[AdminInfo]:
    query = sa.select(AdminUser).order_by(AdminUser.username)
    if agency is not None:
        query = query.where(col(AdminUser.agency) == agency)
    async with hub.db.session() as session:
        return [AdminInfo.of(r) for r in (await session.scalars(query)).all()]


async def update_admin(
    hub: Hub,
    username: str,
    *,
    session: AsyncSession | None = None,
    **values: Any,
) -> AdminInfo:
    """Change ``role``, ``agency``, ``active``, ``display_name`` or ``sso_subject``."""
    allowed = {"role", "agency", "active", "display_name", "sso_subject"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    async with _tx(hub, session) as tx:
        row = await tx.get(AdminUser, username)
        if row is None:
            raise NotFound(f"Không có tài khoản {username}.", f"Unknown admin {username}.")
        role = values.get("role", row.role)
        agency = values.get("agency", row.agency) if role == AGENCY_ADMIN else None
        if "agency" not in values and role == HUB_ADMIN:
            values["agency"] = None
        _check_role(role, agency)
        if agency is not None and await tx.get(Agency, agency) is None:
            raise NotFound(f"Không có cơ quan {agency}.", f"Unknown agency {agency}.")
        # Who the account is and what it may do: a change to any of these ends its sessions.
        privileges = ("role", "agency", "active", "sso_subject")
        changed = any(name in privileges and getattr(row, name) != value
                      for name, value in values.items())
        for name, value in values.items():
            setattr(row, name, value)
        await tx.flush()
        if changed:
            await end_admin_sessions(tx, username)
        info = AdminInfo.of(row)
    return info


async def reset_password(
    hub: Hub, username: str, password: str, *, session: AsyncSession | None = None
) -> AdminInfo:
    password_hash = hash_password(password)
    async with _tx(hub, session) as tx:
        row = await tx.get(AdminUser, username)
        if row is None:
            raise NotFound(f"Không có tài khoản {username}.", f"Unknown admin {username}.")
        row.password_hash = password_hash
        await tx.flush()
        await end_admin_sessions(tx, username)
        info = AdminInfo.of(row)
    await _throttle(hub).unlock(username)
    return info


# --- login ------------------------------------------------------------------------------


_THROTTLES: weakref.WeakKeyDictionary[Hub, LoginThrottle] = weakref.WeakKeyDictionary()


def _throttle(hub: Hub) -> LoginThrottle:
    found = _THROTTLES.get(hub)
    if found is None:
        found = _THROTTLES[hub] = LoginThrottle(hub.settings)
    return found


def _login_failed() -> Unauthenticated:
    return Unauthenticated(
        "Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."
    )


def _throttled(refusal: Refusal) -> RateLimited:
    seconds = refusal.retry_after
    if refusal.reason == "account":
        vi = "Tài khoản tạm khoá do đăng nhập sai nhiều lần; hãy thử lại sau."
        en = "Too many failed logins: the account is locked for a while; retry later."
    elif refusal.reason == "address":
        vi = f"Địa chỉ này đăng nhập sai quá nhiều lần; hãy thử lại sau {seconds} giây."
        en = f"Too many failed logins from this address; retry in {seconds} seconds."
    else:
        vi = f"Đăng nhập sai nhiều lần; hãy thử lại sau {seconds} giây."
        en = f"Too many failed logins; retry in {seconds} seconds."
    return RateLimited(vi, en, retry_after=seconds)


async def _audit_login(hub: Hub, username: str, agency: str | None, outcome: str,
                       *, action: str = "admin.login",
                       details: dict[str, Any] | None = None) -> None:
    try:
        await audit_in_own_transaction(
            hub.db, actor=username, actor_kind="admin", agency=agency,
            action=action, target=f"admin_user/{username}", outcome=outcome,
            details=details or {},
        )
    except Exception as exc:  # the audit must not turn a login answer into a 500
        log.warning("admin_login_not_audited", error_type=type(exc).__name__)


async def login(hub: Hub, username: str, password: str, *, address: str) -> AdminInfo:
    """The account for ``username`` and ``password`` tried from the client ``address``; 401
    otherwise, 429 while this username from this address, the address or the account must
    wait (checked before the password, so waiting attempts guess nothing)."""
    throttle = _throttle(hub)
    refusal = await throttle.refusal(username, address)
    if refusal is not None:
        # Logged, not audited: a guesser hammering through its delay would flood the log.
        log.info("admin_login_throttled", reason=refusal.reason)
        raise _throttled(refusal)
    async with hub.db.session() as session:
        row = await session.get(AdminUser, username[:200])
    stored = row.password_hash if row is not None and row.password_hash else None
    try:
        ok = _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or not row.active:
        locked = await throttle.failed(username, address)
        log.info("admin_login_failed")
        agency = row.agency if row else None
        await _audit_login(hub, username[:200], agency, "denied",
                           details={"address": address})
        if locked:
            await _audit_login(hub, username[:200], agency, "locked",
                               action="admin.login.account_locked", details={
                                   "limit": str(throttle.account_limit),
                                   "lock_seconds": throttle.lock_seconds})
        raise _login_failed()
    await throttle.succeeded(username, address)
    async with hub.db.transaction() as session:
        await take_change_feed_lock(session)
        fresh = await session.get(AdminUser, row.username)
        assert fresh is not None
        if _hasher.check_needs_rehash(fresh.password_hash or ""):
            fresh.password_hash = _hasher.hash(password)
        fresh.last_login_at = utcnow()
        await append_audit(
            session, actor=row.username, actor_kind="admin", agency=row.agency,
            action="admin.login", target=f"admin_user/{row.username}", outcome="ok",
            details={"method": "password"},
        )
        info = AdminInfo.of(fresh)
    return info


async def start_session(hub: Hub, admin: AdminInfo) -> IssuedToken:
    """A server-side session for the admin API and a short-lived bearer token bound to it
    (the session lasts as long as the token)."""
    ttl = hub.settings.access_token_ttl_seconds
    opened = await open_session(hub, admin.username, channel="api", lifetime=ttl)
    return await issue_access_token(
        hub, subject=admin.username, agency=admin.agency or "",
        scopes=admin_scopes(admin.role), kind="admin", role=admin.role, lifetime=ttl,
        session_id=opened.sid,
    )


async def sso_login(hub: Hub, *, subject: str, email: str | None) -> AdminInfo:
    """The active admin account an OIDC identity maps to: by linked ``sso_subject`` (the
    IdP's ``sub``), else by a verified e-mail equal to the username or the linked subject."""
    async with hub.db.transaction() as session:
        await take_change_feed_lock(session)
        row = await session.scalar(
            sa.select(AdminUser).where(col(AdminUser.sso_subject) == subject))
        if row is None and email:
            row = await session.scalar(
                sa.select(AdminUser).where(
                    sa.or_(col(AdminUser.username) == email, col(AdminUser.sso_subject) == email)
                )
            )
        info = None
        if row is not None and row.active:
            row.last_login_at = utcnow()
            await append_audit(
                session, actor=row.username, actor_kind="admin", agency=row.agency,
                action="admin.login", target=f"admin_user/{row.username}", outcome="ok",
                details={"method": "sso"},
            )
            info = AdminInfo.of(row)
    if info is None:
        await _audit_login(hub, (email or subject)[:200], None, "denied")
        raise Unauthenticated(
            "Tài khoản SSO này không ứng với quản trị viên nào đang hoạt động.",
            "This SSO identity is not linked to an active admin account.",
        )
    return info


# --- audited admin actions ------------------------------------------------------------------


@asynccontextmanager
async def admin_action(
    hub: Hub,
    principal: Principal,
    action: str,
    *,
    target: str | None,
    agency: str | None,
    details: dict[str, Any] | None = None,
) -> AsyncIterator[AsyncSession]:
    """One admin write: a transaction under the write lock, audited in it; a failed action
    (400, 404, 409...) is audited with outcome "failed" in a transaction of its own (401 and
    403 are audited by ``gateway.http._problems`` for every refused write)."""
    try:
        async with hub.db.transaction() as session:
            await take_change_feed_lock(session)
            yield session
            await append_audit(
                session, actor=principal.client_id, actor_kind=principal.kind,
                agency=agency, action=action, target=target, outcome="ok",
                details=details if details is not None else {},
            )
    except HubError as exc:
        if exc.status in (401, 403):
            raise  # refusals are audited once, by the gateway's problem handler
        outcome = "failed"
        try:
            await audit_in_own_transaction(
                hub.db, actor=principal.client_id, actor_kind=principal.kind, agency=agency,
                action=action, target=target, outcome=outcome,
                details={**(details or {}), "status": exc.status},
            )
        except Exception as audit_error:
            log.warning("admin_action_not_audited", error_type=type(audit_error).__name__)
        raise
