"""The product archive over REST: files on records, downloads with Range and ETag, short-lived
signed links, and the admin report of state-funded products without an archived main copy.

Handlers parse and answer; ``hub.archive._service`` decides. Records are named by their hub id here
(``/v1/records/{id}/files``): the per-type routes end in ``{source_id:path}``, which would
swallow a ``/files`` suffix.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

import auth
from auth import policy
from gateway.deps import Admin, HubDep, Reader, SessionDep, Writer, principal_with
from gateway.http._json import JSON
from gateway.http._problems import problem_for
from gateway.routers.records import PROBLEMS
from hub import (
    FileInfo,
    Hub,
    HubError,
    Unauthenticated,
    previous_secret_keys,
    unarchived_state_funded,
)
from hub.archive import (
    FileClaims,
    detach_file,
    get_file,
    get_file_unchecked,
    link_is_valid,
    open_file,
    record_files,
    sign_link,
    upload_stream,
)
from schemas import FileMeta

router = APIRouter(tags=["Files (product archive)"], responses=PROBLEMS)
_link_keys: WeakKeyDictionary[Hub, tuple[bytes, ...]] = WeakKeyDictionary()


class FileOut(FileMeta):
    record_id: str


class FileList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[FileMeta]


class SignedLink(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="Follow without credentials until expires_at.")
    expires_at: datetime


class UnarchivedProduct(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    owner_agency: str
    source_id: str
    title: str
    kind: str | None
    funding_source: str
    updated_at: datetime


class UnarchivedPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    total: int
    items: list[UnarchivedProduct]


def _out(info: FileInfo) -> dict[str, Any]:
    return {**info.as_dict(), "record_id": info.record_id}


def link_keys(hub: Hub) -> tuple[bytes, ...]:
    """Keys for file links only, derived from the hub's secret key: the current one (which
    signs), then the previous secret key's during a rotation (links made before it still open)."""
    keys = _link_keys.get(hub)
    if keys is None:
        keys = tuple(hmac.new(key, b"rightshub file links v1", hashlib.sha256).digest()
                     for key in (auth.load_secret_key(hub.settings),
                                 *previous_secret_keys(hub.settings)))
        _link_keys[hub] = keys
    return keys


@router.post(
    "/records/{record_id}/files",
    status_code=201,
    response_model=FileOut,
    summary="Upload a small file to a record in one request",
    openapi_extra={"requestBody": {"required": True, "content": {
        "*/*": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def upload_simple(
    record_id: str,
    request: Request,
    principal: Writer,
    hub: HubDep,
    name: Annotated[str, Query(min_length=1, max_length=255)],
    role: Annotated[str, Query(max_length=20)] = "main",
    language: Annotated[str | None, Query(max_length=10)] = None,
    sha256: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The body is the file; ``Content-Type`` its declared type (checked against the bytes).
    Up to ``archive_simple_upload_max_bytes``; larger files go through ``/v1/uploads`` (tus)."""
    claims = FileClaims(name=name, media_type=request.headers.get("content-type"),
                        language=language, role=role, sha256=sha256)
    length = request.headers.get("content-length")
    info, created = await upload_stream(
        hub, principal, record_id, request.stream(), claims,
        declared_size=int(length) if length is not None and length.isdigit() else None,
    )
    return JSON(_out(info), status_code=201 if created else 200,
                headers={"Location": f"/v1/files/{info.id}"})


@router.get("/records/{record_id}/files", response_model=FileList,
            summary="The files of a record")
async def list_files(record_id: str, principal: Reader, hub: HubDep) -> Response:
    files = await record_files(hub, principal, record_id)
    return JSON({"items": [f.as_dict() for f in files]})


@router.get("/files/{file_id}", response_model=FileOut, summary="A file's metadata")
async def file_meta(file_id: str, principal: Reader, hub: HubDep) -> Response:
    return JSON(_out(await get_file(hub, principal, file_id)))


@router.delete("/files/{file_id}", status_code=204, response_class=Response,
               summary="Remove a file from its record")
async def remove_file(file_id: str, principal: Writer, hub: HubDep) -> Response:
    """A new version of the record; the bytes stay while another record uses them."""
    await detach_file(hub, principal, file_id)
    return Response(status_code=204)


@router.post("/files/{file_id}/link", response_model=SignedLink,
             summary="A short-lived link to the file's bytes, for a browser")
async def file_link(file_id: str, request: Request, principal: Reader, hub: HubDep) -> Response:
    info = await get_file(hub, principal, file_id)
    expires = int(time.time()) + hub.settings.archive_link_ttl_seconds
    signature = sign_link(link_keys(hub)[0], info.id, expires)
    base = (hub.settings.public_url or str(request.base_url)).rstrip("/")
    url = f"{base}/v1/files/{info.id}/content?expires={expires}&signature={signature}"
    return JSON({"url": url, "expires_at": datetime.fromtimestamp(expires, UTC)})


@router.head("/files/{file_id}/content", include_in_schema=False)
@router.get(
    "/files/{file_id}/content",
    operation_id="download_file",
    summary="Download a file (Range, ETag; credentials or a signed link)",
    response_class=Response,
    responses={200: {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
               206: {"description": "Partial content (Range)"},
               304: {"description": "Not modified"},
               416: {"description": "Range not satisfiable"}},
)
async def download(
    file_id: str,
    request: Request,
    hub: HubDep,
    expires: int | None = None,
    signature: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Served under the record's access policy, or to anyone holding a link signed by
    ``POST /v1/files/{id}/link`` until it expires. ``Range: bytes=a-b`` answers 206 (video
    seeking); ``If-None-Match`` with the ETag answers 304."""
    if signature is not None and expires is not None:
        now = time.time()
        if not any(link_is_valid(key, file_id, expires, signature, now)
                   for key in link_keys(hub)):
            raise Unauthenticated("Liên kết tải xuống không hợp lệ hoặc đã hết hạn.",
                                  "The download link is invalid or expired.")
        info = await get_file_unchecked(hub, file_id)
    else:
        principal = await principal_with("records:read")(request, hub)
        info = await get_file(hub, principal, file_id)
    return await _serve(request, hub, info)


class RangeNotSatisfiable(HubError):
    status = 416
    type_slug = "range-not-satisfiable"
    title_vi = "Khoảng byte không hợp lệ"
    title_en = "Range not satisfiable"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range (RFC 9110 §14.1.2) as (start, end inclusive); None for the whole
    file (no header, several ranges, or another unit: a server may ignore Range)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    if not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()) or (
        last and not last.isdigit()
    ):
        return None
    if not first:  # suffix: the last N bytes
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiable("Khoảng byte rỗng.", "Empty range.")
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(
            f"Khoảng byte nằm ngoài tệp ({size} byte).", f"The range is outside the file "
            f"({size} bytes).")
    return start, end


def _disposition(name: str) -> str:
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def _serve(request: Request, hub: Hub, info: FileInfo) -> Response:
    etag = f'"{info.sha256}"'
    headers = {
        "ETag": etag, "Accept-Ranges": "bytes", "Content-Disposition": _disposition(info.name),
        "Cache-Control": "private, max-age=0", "X-Content-Type-Options": "nosniff",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and (if_none_match.strip() == "*" or etag in {
        t.strip().removeprefix("W/") for t in if_none_match.split(",")
    }):
        return Response(status_code=304, headers=headers)
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        wanted = None  # the client's copy is another version: send the whole file
    try:
        span = parse_range(wanted, info.size)
    except RangeNotSatisfiable as exc:
        return problem_for(request, exc, headers={**headers,
                                                  "Content-Range": f"bytes */{info.size}"})
    status, start, length = 200, 0, info.size
    if span is not None:
        status, start, length = 206, span[0], span[1] - span[0] + 1
        headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{info.size}"
    headers["Content-Length"] = str(length)
    body = await open_file(hub, info, start, length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=info.media_type)
    return StreamingResponse(body, status_code=status, headers=headers,
                             media_type=info.media_type)


@router.get(
    "/admin/archive/unarchived",
    response_model=UnarchivedPage,
    summary="State-funded products without an archived main copy",
)
async def unarchived(
    principal: Admin,
    hub: HubDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Products whose ``funding_source`` is the state budget (``state_budget`` or
    ``local_budget``) and that have no file with role ``main``. Agency admins see their
    agency's (and its predecessors') products only."""
    agencies = None
    if not policy.is_hub_admin(principal):
        agencies = (await hub.catalog.agencies()).rolled_up(principal.agency)
    report = await unarchived_state_funded(session, agencies=agencies, limit=limit,
                                           offset=offset)
    return JSON({"total": report.total, "items": report.items})
