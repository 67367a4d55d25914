"""The audit log: filters, pages, and a check of the hash chain."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from auth import AuditFilter, policy, query_audit
from gateway.console._forms import query_text, read_form
from gateway.console._i18n import VIETNAM, parse_date
from gateway.console._pages_auth import User
from gateway.console._render import ConsoleRoute, render
from gateway.deps import HubDep
from hub import InvalidInput, verify_database

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

_ACTION = re.compile(r"^[a-z0-9._-]{1,60}$")
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


def _day_start(text: str, label: str) -> datetime | None:
    try:
        day = parse_date(text)
    except (ValueError, OverflowError):
        raise InvalidInput(f"Ngày không hợp lệ ({label}): nhập theo dạng dd/mm/yyyy.",
                           f"Invalid date ({label}): use dd/mm/yyyy.") from None
    return None if day is None else datetime.combine(day, time(), tzinfo=VIETNAM).astimezone(UTC)


async def _page(request: Request, user: Any, hub: Any, **extra: Any) -> Response:
    actor = query_text(request, "actor")
    action = query_text(request, "action", max_length=60)
    agency = query_text(request, "agency", max_length=40)
    since_text = query_text(request, "since", max_length=20)
    until_text = query_text(request, "until", max_length=20)
    cursor = query_text(request, "cursor")
    if action and not _ACTION.match(action):
        raise InvalidInput("Tên thao tác không hợp lệ (ví dụ admin.api_keys).",
                           "Invalid action (e.g. admin.api_keys).")
    if agency and not _CODE.match(agency):
        raise InvalidInput("Mã cơ quan không hợp lệ.", "Invalid agency code.")
    until = _day_start(until_text, "đến ngày")
    flt = AuditFilter(
        agency=policy.tenant_filter(user.principal, agency or None),
        actor=actor or None, action=action or None,
        since=_day_start(since_text, "từ ngày"),
        until=until + timedelta(days=1) if until else None,  # the whole "to" day
    )
    items, next_cursor = await query_audit(
        hub, flt, limit=50, cursor=cursor if _CURSOR.match(cursor) else None)
    query = {k: v for k, v in (("actor", actor), ("action", action), ("agency", agency),
                               ("since", since_text), ("until", until_text)) if v}
    return render(request, "audit.html", {
        "items": items, "next_cursor": next_cursor, "f": query, **extra,
    })


@router.get("/audit")
async def audit_page(request: Request, user: User, hub: HubDep) -> Response:
    return await _page(request, user, hub)


@router.post("/audit/verify")
async def audit_verify(request: Request, user: User, hub: HubDep) -> Response:
    await read_form(request, hub)
    report = await verify_database(hub.db)
    return await _page(request, user, hub, report=report)
