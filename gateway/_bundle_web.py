"""Exporting an offline exchange bundle over the web (REST and console): who may export as
which agency, checked input, and the bundle file streamed back and deleted afterwards.

The rule is the CLI's: ``connectors.export_bundle`` applies the read rights of ``as_agency``.
A hub admin names that agency; an agency admin exports as its own agency only, so it never
carries out more than its agency could read from the change feed."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import FileResponse

import connectors
import schemas
from auth import policy
from hub import Hub, InvalidInput, PayloadTooLarge, Principal, audit_in_own_transaction

BUNDLE_TYPE = "application/x-tar"


def reader_agency(principal: Principal, as_agency: str | None) -> str:
    """The agency whose read rights the export applies (403 for another agency's)."""
    if not policy.is_hub_admin(principal):
        as_agency = as_agency or principal.agency
    if not as_agency:
        raise InvalidInput("Hãy chọn cơ quan có quyền đọc (as_agency).",
                           "Choose the agency whose read rights apply (as_agency).")
    policy.require_tenant(principal, as_agency)
    return as_agency


def check_types(record_types: list[str] | None) -> list[str] | None:
    for name in record_types or []:
        if name not in schemas.RECORD_TYPES:
            raise InvalidInput(f"Không có loại hồ sơ {name}.", f"Unknown record type {name}.")
    return record_types or None


async def bundle_download(
    hub: Hub, principal: Principal, *, as_agency: str | None, agencies: list[str] | None,
    record_types: list[str] | None, after: int, until: int | None, files: bool,
) -> FileResponse:
    """Write the bundle to a scratch directory, audit it, and answer it as an attachment
    (the directory goes once the response is sent)."""
    reader = reader_agency(principal, as_agency)
    types = check_types(record_types)
    if until is not None and until < after:
        raise InvalidInput("until phải không nhỏ hơn after.", "until must not be below after.")
    scratch = Path(tempfile.mkdtemp(prefix="rightshub-bundle-out-"))
    try:
        out = scratch / "bundle.rhbundle"
        manifest: dict[str, Any] = await connectors.export_bundle(
            hub, out, as_agency=reader, agencies=agencies or None, record_types=types,
            after=after, until=until, files=files)
        await audit_in_own_transaction(
            hub.db, actor=principal.client_id, actor_kind=principal.kind, agency=reader,
            action="admin.bundles.export", target=f"bundle/{manifest['bundle_id']}",
            request_id=None, outcome="ok",
            details={"counts": manifest["counts"], "cursor": manifest["cursor"]},
        )
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return FileResponse(
        out, media_type=BUNDLE_TYPE, filename=f"rightshub-{manifest['bundle_id']}.rhbundle",
        headers={"Cache-Control": "no-store",
                 "X-Bundle-Until": str(manifest["cursor"]["until"])},
        background=BackgroundTask(shutil.rmtree, scratch, ignore_errors=True),
    )


async def import_uploaded_bundle(
    hub: Hub, chunks: AsyncIterator[bytes], *, connector_id: str
) -> dict[str, Any]:
    """Spool an uploaded bundle to a scratch file, refused (413) past the archive's file limit
    before it is all read, and import it for ``connector_id``: the REST and console imports."""
    limit = hub.settings.archive_max_file_bytes
    with tempfile.TemporaryDirectory(prefix="rightshub-bundle-") as scratch:
        path = Path(scratch) / "upload.rhbundle"
        size = 0
        with path.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"Gói vượt quá giới hạn {limit} byte.",
                                          f"The bundle exceeds the {limit}-byte limit.",
                                          limit=limit)
                out.write(chunk)
        return await connectors.import_bundle(hub, path, connector_id=connector_id)
