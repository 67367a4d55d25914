"""Resumable uploads over HTTP: the tus 1.0 protocol (https://tus.io/protocols/resumable-upload)
with the creation, termination, checksum and expiration extensions, so standard clients
(tuspy, tus-js-client, Uppy) upload product files over poor links and resume after a cut.

Hand-written over :mod:`hub.archive._uploads` rather than taken from a package: the tus servers on
PyPI keep their state in local JSON files, while the hub's must live in its database (several
gateway processes share PostgreSQL), be scoped to the agency's records and finish in the
archive's checks. Creation metadata (``Upload-Metadata``, base64 values): ``record_id``
(required), ``filename`` (or ``name``), ``filetype`` (or ``content_type``), ``role``,
``language``, ``sha256`` (hex; verified when the last byte arrives).
"""

from __future__ import annotations

import base64
import binascii
from email.utils import format_datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from starlette.requests import ClientDisconnect

from gateway.deps import HubDep, Writer
from gateway.routers.records import PROBLEMS
from hub import Hub, InvalidInput, PreconditionFailed, UnsupportedMediaType
from hub.archive import (
    CHECKSUM_ALGORITHMS,
    FileClaims,
    UploadState,
    append_upload,
    create_upload,
    parse_checksum,
    terminate,
    upload_state,
)

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,checksum,expiration"
OFFSET_STREAM = "application/offset+octet-stream"
TUS_REQUEST_HEADERS = ("Tus-Resumable", "Upload-Length", "Upload-Metadata", "Upload-Offset",
                       "Upload-Checksum")
TUS_RESPONSE_HEADERS = ("Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size",
                        "Tus-Checksum-Algorithm", "Upload-Offset", "Upload-Length",
                        "Upload-Expires", "X-File-Id")
METADATA_NAMES = {
    "record_id": "record_id", "filename": "name", "name": "name", "filetype": "media_type",
    "content_type": "media_type", "type": "media_type", "role": "role",
    "language": "language", "sha256": "sha256",
}

router = APIRouter(prefix="/uploads", tags=["Files (resumable uploads, tus 1.0)"],
                   responses=PROBLEMS)


def _base_headers(hub: Hub) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}


def _state_headers(hub: Hub, state: UploadState) -> dict[str, str]:
    headers = _base_headers(hub)
    headers.update({
        "Upload-Offset": str(state.offset),
        "Upload-Length": str(state.length),
        "Upload-Expires": format_datetime(state.expires_at, usegmt=True),
    })
    if state.file is not None:
        headers["X-File-Id"] = state.file.id
        headers["Link"] = f'</v1/files/{state.file.id}>; rel="item"'
    return headers


def _require_tus(version: str | None) -> None:
    if version != TUS_VERSION:
        raise PreconditionFailed(
            f"Máy chủ hỗ trợ tus {TUS_VERSION}; gửi header Tus-Resumable: {TUS_VERSION}.",
            f"This server speaks tus {TUS_VERSION}; send Tus-Resumable: {TUS_VERSION}.",
        )


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (value optional)."""
    found: dict[str, str] = {}
    for pair in (header or "").split(","):
        if not pair.strip():
            continue
        key, _, encoded = pair.strip().partition(" ")
        try:
            value = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput(
                f"Upload-Metadata: giá trị của {key[:40]} không phải base64 UTF-8.",
                f"Upload-Metadata: the value of {key[:40]} is not base64 UTF-8.",
            ) from None
        if key in METADATA_NAMES:
            found[METADATA_NAMES[key]] = value
    return found


def _offset(value: str | None, name: str) -> int:
    if value is None or not value.isdigit() or len(value) > 18:
        raise InvalidInput(f"Thiếu hoặc sai header {name}.", f"Missing or invalid {name}.")
    return int(value)


@router.options("", include_in_schema=False)
async def options(hub: HubDep) -> Response:
    """Capabilities (tus 1.0 §OPTIONS); no credentials needed."""
    return Response(status_code=204, headers={
        "Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(hub.settings.archive_max_file_bytes),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    })


@router.post("", status_code=201, summary="Create a resumable upload (tus creation)")
async def create(
    principal: Writer,
    hub: HubDep,
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_length: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header()] = None,
) -> Response:
    """Send ``Upload-Length`` and ``Upload-Metadata`` (``record_id`` and ``filename`` at
    least); the answer's ``Location`` is where the bytes go with PATCH."""
    _require_tus(tus_resumable)
    length = _offset(upload_length, "Upload-Length")
    meta = parse_metadata(upload_metadata)
    if "record_id" not in meta:
        raise InvalidInput("Upload-Metadata phải có record_id.",
                           "Upload-Metadata must carry record_id.")
    state = await create_upload(
        hub, principal, record_id=meta["record_id"], length=length,
        claims=FileClaims(name=meta.get("name", ""), media_type=meta.get("media_type"),
                          language=meta.get("language"), role=meta.get("role", "main"),
                          sha256=meta.get("sha256")),
    )
    headers = _state_headers(hub, state)
    headers["Location"] = f"/v1/uploads/{state.id}"
    return Response(status_code=201, headers=headers)


@router.head("/{upload_id}", include_in_schema=False)  # no body to document: headers only
async def head(upload_id: str, principal: Writer, hub: HubDep) -> Response:
    return Response(status_code=200,
                    headers=_state_headers(hub, await upload_state(hub, principal, upload_id)))


@router.patch(
    "/{upload_id}",
    status_code=204,
    summary="Append bytes at Upload-Offset (tus PATCH)",
    openapi_extra={"requestBody": {"required": True, "content": {
        OFFSET_STREAM: {"schema": {"type": "string", "format": "binary"}}}}},
)
async def patch(
    upload_id: str,
    request: Request,
    principal: Writer,
    hub: HubDep,
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_offset: Annotated[str | None, Header()] = None,
    upload_checksum: Annotated[str | None, Header()] = None,
) -> Response:
    """On the last byte the file is checked (type from its bytes, checksum, malware) and
    attached: ``X-File-Id`` names it. A refused file ends the upload with a 4xx."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != OFFSET_STREAM:  # checked first: a PATCH without a body is a 415
        raise UnsupportedMediaType(
            f"PATCH của tus phải có Content-Type: {OFFSET_STREAM}.",
            f"A tus PATCH must have Content-Type: {OFFSET_STREAM}.",
        )
    _require_tus(tus_resumable)
    offset = _offset(upload_offset, "Upload-Offset")
    checksum = parse_checksum(upload_checksum)
    try:
        state = await append_upload(hub, principal, upload_id, offset=offset,
                                    chunks=request.stream(), checksum=checksum)
    except ClientDisconnect:
        # The client is gone; what arrived is kept and HEAD tells it where to resume.
        return Response(status_code=400)
    return Response(status_code=204, headers=_state_headers(hub, state))


@router.delete("/{upload_id}", status_code=204, summary="Abandon an upload (tus termination)")
async def delete(
    upload_id: str,
    principal: Writer,
    hub: HubDep,
    tus_resumable: Annotated[str | None, Header()] = None,
) -> Response:
    _require_tus(tus_resumable)
    await terminate(hub, principal, upload_id)
    return Response(status_code=204, headers=_base_headers(hub))
