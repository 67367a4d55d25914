"""``POST /v1/admin/bundles/export``: an offline exchange bundle of this hub's change feed,
the REST twin of ``rightshub bundle export`` (docs/exchange-api.md, "Offline exchange
bundles"). Importing is ``POST /v1/admin/connectors/{id}/bundles``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field
from starlette.responses import FileResponse

from gateway._admin_wire import StrictBody
from gateway._bundle_web import BUNDLE_TYPE, bundle_download
from gateway.deps import Admin, HubDep
from gateway.http._strict_json import StrictJSONRoute
from gateway.routers.records import PROBLEMS

router = APIRouter(
    route_class=StrictJSONRoute,
    prefix="/admin/bundles",
    tags=["Connectors"],
    responses={k: v for k, v in PROBLEMS.items() if k in (400, 401, 403, 404)},
)

Code = Annotated[str, Field(max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]


class BundleExport(StrictBody):
    as_agency: Code | None = Field(
        default=None, description="Agency whose read rights apply (an agency admin: its own, "
        "the default; a hub admin must name one)")
    agencies: list[Code] | None = Field(default=None, max_length=200,
                                        description="Owner agencies (default: all it may read)")
    record_types: list[Code] | None = Field(default=None, max_length=20,
                                            description="Record types (default: all)")
    after: int = Field(default=0, ge=0, description="Change-feed cursor to start after")
    until: int | None = Field(default=None, ge=0, description="Last seq to include")
    files: bool = Field(default=True, description="Carry the bytes of the records' files")


@router.post(
    "/export",
    summary="Export the changes after a cursor as one signed offline exchange bundle",
    description="Answers the bundle file (`application/x-tar`, an attachment) signed by this "
    "hub's key; the header `X-Bundle-Until` is the cursor to start the next bundle after.",
    response_class=FileResponse,
    responses={200: {"content": {BUNDLE_TYPE: {"schema": {"type": "string",
                                                           "format": "binary"}}},
                     "description": "The bundle file"}},
)
async def bundle_export(principal: Admin, hub: HubDep, body: BundleExport | None = None
                        ) -> FileResponse:
    body = body or BundleExport()
    return await bundle_download(
        hub, principal, as_agency=body.as_agency, agencies=body.agencies,
        record_types=body.record_types, after=body.after, until=body.until, files=body.files)
