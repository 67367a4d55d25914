"""The hub's access policy, in one place.

* **Scopes** each REST route needs: ``records:read`` (lists, reads, reference data),
  ``records:write`` (batch, PUT, DELETE), ``changes:read`` (the change feed), ``admin`` (every
  ``/v1/admin`` route) and ``admin:hub`` (hub-wide administration: the agency registry, other
  agencies). The gateway's principal dependency calls :func:`require_scope`; nothing else
  decides.
* **Tenancy of administration:** a hub admin administers everything; an agency admin (or a
  client holding the ``admin`` scope) only its own agency: its clients, API keys, admin users
  and audit entries. Anything else is 403.
* **Record ownership:** an agency writes, updates and deletes only its own records, and the
  records of the agencies it succeeded (transitively) when it has no record of its own with
  that ``source_id`` (``hub._ingest`` resolves the owner: it cannot import ``auth``).
* **Hub-owned fields** (``schemas.HUB_OWNED_FIELDS``: version, owner, provenance,
  timestamps...) are refused by the data standard itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub import Forbidden, Principal

RECORDS_READ = "records:read"
RECORDS_WRITE = "records:write"
CHANGES_READ = "changes:read"
ADMIN = "admin"
ADMIN_HUB = "admin:hub"
SCOPES = (RECORDS_READ, RECORDS_WRITE, CHANGES_READ, ADMIN, ADMIN_HUB)

HUB_ADMIN = "hub_admin"
AGENCY_ADMIN = "agency_admin"
ROLES = (HUB_ADMIN, AGENCY_ADMIN)

# What each REST route family needs; the routers declare the same through gateway.deps
# (Reader, Writer, ChangeReader, Admin, HubAdmin), and tests/security checks every route.
ROUTE_SCOPES: dict[str, str] = {
    "GET /v1/{record_type}": RECORDS_READ,
    "GET /v1/{record_type}/{source_id}": RECORDS_READ,
    "POST /v1/{record_type}:batch": RECORDS_WRITE,
    "PUT /v1/{record_type}/{source_id}": RECORDS_WRITE,
    "DELETE /v1/{record_type}/{source_id}": RECORDS_WRITE,
    "GET /v1/agencies, /v1/vocabularies": RECORDS_READ,
    "GET /v1/changes": CHANGES_READ,
    "/v1/admin/* (except POST /v1/admin/session)": ADMIN,
    "/v1/admin/agencies (writes)": ADMIN_HUB,
}


def admin_scopes(role: str) -> frozenset[str]:
    """The scopes of an admin user's session token."""
    if role == HUB_ADMIN:
        return frozenset({ADMIN, ADMIN_HUB})
    if role == AGENCY_ADMIN:
        return frozenset({ADMIN})
    raise ValueError(f"unknown admin role {role!r}")


def require_scope(principal: Principal, scope: str) -> None:
    if not principal.has_scope(scope):
        raise Forbidden(
            f"Thiếu quyền (scope) {scope} cho thao tác này.",
            f"The {scope} scope is required for this operation.",
            required_scope=scope,
        )


def is_hub_admin(principal: Principal) -> bool:
    return principal.has_scope(ADMIN_HUB) and principal.has_scope(ADMIN)


def require_hub_admin(principal: Principal) -> None:
    require_scope(principal, ADMIN)
    require_scope(principal, ADMIN_HUB)


def _other_agency() -> Forbidden:
    return Forbidden(
        "Quản trị viên cơ quan chỉ quản trị được cơ quan của mình.",
        "An agency admin administers its own agency only.",
    )


def require_tenant(principal: Principal, agency: str | None) -> None:
    """The caller may administer what belongs to ``agency`` (None: hub-wide objects)."""
    require_scope(principal, ADMIN)
    if is_hub_admin(principal):
        return
    if agency is None or agency != principal.agency:
        raise _other_agency()


def tenant_filter(principal: Principal, requested: str | None) -> str | None:
    """The agency a list is restricted to: what a hub admin asked for (None = all), the own
    agency for anyone else (asking for another agency is 403, not an empty list)."""
    require_scope(principal, ADMIN)
    if is_hub_admin(principal):
        return requested
    if requested is not None and requested != principal.agency:
        raise _other_agency()
    return principal.agency


def grantable_admin_role(principal: Principal, role: str, agency: str | None) -> None:
    """Whether the caller may give an admin account ``role`` in ``agency``."""
    if role not in ROLES:
        raise Forbidden("Vai trò không hợp lệ.", f"Unknown role {role}.")
    if role == HUB_ADMIN:
        require_hub_admin(principal)
    else:
        require_tenant(principal, agency)


def client_scopes_grantable(principal: Principal, scopes: Iterable[str]) -> None:
    """Nobody hands out ``admin:hub`` to a client; only hub admins hand out ``admin``."""
    wanted = set(scopes)
    if ADMIN_HUB in wanted:
        raise Forbidden(
            "Không thể cấp scope admin:hub cho client.", "admin:hub cannot be given to a client."
        )
    if ADMIN in wanted and not is_hub_admin(principal):
        raise Forbidden(
            "Chỉ quản trị viên hub mới cấp được scope admin.",
            "Only hub admins can give the admin scope.",
        )
