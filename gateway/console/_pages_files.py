"""Files on a record (the product archive): the list with short-lived download links, and
an upload form. Writes act for the record's owning agency: an agency admin only on its own
records (the archive checks ownership), a hub admin on behalf of the owner."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from gateway.console._forms import ident, read_form
from gateway.console._labels import refuse
from gateway.console._pages_auth import User
from gateway.console._render import ConsoleRoute
from gateway.console._session import ConsoleUser
from gateway.deps import HubDep
from gateway.routers.files import link_keys
from hub import Hub, InvalidInput, NotFound, Principal
from hub.archive import ROLES, FileClaims, record_files, sign_link, upload_stream
from hub.tables import Record

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


async def files_of(hub: Hub, user: ConsoleUser, record_id: str, owner: str
                   ) -> list[dict[str, Any]]:
    """The record's files with a signed download link each (empty when none is visible)."""
    try:
        files = await record_files(hub, _acting(user, owner), record_id)
    except NotFound:
        return []
    expires = int(time.time()) + hub.settings.archive_link_ttl_seconds
    return [{**f.as_dict(), "url": f"/v1/files/{f.id}/content?expires={expires}"
             f"&signature={sign_link(link_keys(hub)[0], f.id, expires)}"} for f in files]


def _acting(user: ConsoleUser, owner: str) -> Principal:
    agency = owner if user.is_hub_admin else (user.agency or "")
    return Principal(client_id=user.admin.username, agency=agency,
                     scopes=frozenset({"records:read", "records:write"}), channel="push",
                     kind="admin", role=user.admin.role)


async def _chunks(upload: Any) -> AsyncIterator[bytes]:
    while chunk := await upload.read(1 << 20):
        yield chunk


@router.post("/records/{record_id}/files")
async def file_upload(record_id: str, request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    record_id = ident(record_id)
    async with hub.db.session() as session:
        owner = await session.scalar(sa.select(Record.owner_agency).where(Record.id == record_id))
    if owner is None:
        raise NotFound("Không tìm thấy hồ sơ.", "Record not found.")
    upload = form.file("file")
    if upload is None:
        raise InvalidInput("Hãy chọn một tệp.", "Choose a file.")
    role = form.text("role", max_length=20) or "main"
    if role not in ROLES:
        raise refuse("Vai trò tệp", "file role", role, "file_role")
    claims = FileClaims(name=(upload.filename or "tep")[:255],
                        media_type=upload.content_type or None,
                        language=form.text("language", max_length=10) or None, role=role)
    await upload_stream(hub, _acting(user, owner), record_id, _chunks(upload), claims,
                        declared_size=upload.size)
    return RedirectResponse(f"/console/records/{record_id}?files=1", status_code=303)
