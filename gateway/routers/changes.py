"""``GET /v1/changes``: the ordered change feed, tombstones included."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from gateway._wire import ChangePage
from gateway.deps import ChangeReader, HubDep, SessionDep
from gateway.http._json import JSON
from gateway.routers.records import PROBLEMS
from hub import list_changes

router = APIRouter(tags=["Change feed"], responses=PROBLEMS)

# seq is a 64-bit integer column: a larger cursor (20 digits pass the pattern) is past every
# change, and must not reach the database, where it overflows.
MAX_SEQ = 2**63 - 1

RecordTypeParam = Annotated[
    str | None, Query(alias="type", max_length=40, pattern=r"^[a-z-]+$")
]


@router.get("/changes", summary="Follow every change in commit order", response_model=ChangePage)
async def changes(
    principal: ChangeReader,
    hub: HubDep,
    session: SessionDep,
    after: Annotated[
        str, Query(max_length=20, pattern=r"^[0-9]+$", description="Last next_cursor seen")
    ] = "0",
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    record_type: RecordTypeParam = None,
) -> Response:
    """Start with ``after=0`` and pass back ``next_cursor``. A consumer that stores its cursor
    with the data it applied can resume at any time and never misses a change."""
    graph = await hub.catalog.agencies()
    page = await list_changes(
        session, principal, graph, after=min(int(after), MAX_SEQ), limit=limit,
        record_type=record_type,
    )
    return JSON(
        {"changes": page.changes, "next_cursor": str(page.next_cursor), "has_more": page.has_more}
    )
