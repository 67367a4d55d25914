"""Push subscriptions under ``/v1/admin/subscriptions``: thin handlers over
``connectors._subscriptions`` (tenancy and audit happen there, shared with the console).

A hub admin manages every agency's subscriptions; an agency admin only its own agency's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from connectors import subscriptions as service
from gateway._admin_wire import _Body
from gateway.deps import Admin, HubDep
from gateway.http._json import JSON
from gateway.http._strict_json import StrictJSONRoute
from gateway.routers.records import PROBLEMS
from hub.tables import (
    DeadLetterPublic,
    DeadLetterStatus,
    DeliveryAttemptPublic,
    DeliveryOutcome,
    SubscriptionCreate,
    SubscriptionUpdate,
)

router = APIRouter(
    route_class=StrictJSONRoute,
    prefix="/admin/subscriptions",
    tags=["Subscriptions (push)"],
    responses={**{k: v for k, v in PROBLEMS.items() if k in (400, 401, 403, 404)},
               429: {**PROBLEMS[400], "description": "Too many requests"}},
)

SubscriptionId = Annotated[str, PathParam(max_length=36, pattern=r"^[0-9a-f-]{36}$")]
AgencyQuery = Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
MAX_SEQ = 2**63 - 1


# --- wire models -----------------------------------------------------------------------------


class ReplayRequest(_Body):
    after: int = Field(ge=0, le=2**63 - 1, description="A change-feed cursor")


class RedeliverRequest(_Body):
    seqs: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        default=None, max_length=1000, description="None: every dead letter")


class SubscriptionOut(service.SubscriptionInfo):
    # The fields are the SQLModel entity's (hub/tables/_subscription.py: SubscriptionPublic);
    # this class only names the schema in the contract. No docstring: it would become the
    # schema's description and change openapi/openapi.json.
    pass


class SubscriptionCreated(SubscriptionOut):
    secret: Annotated[str | None, Field(description="The generated HMAC secret, shown once")]


class SubscriptionListOut(BaseModel):
    items: list[SubscriptionOut]


# The SQLModel entities' public shapes (hub/tables/_subscription.py), under the contract's names.
class DeliveryOut(DeliveryAttemptPublic):
    pass


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeadLetterOut(DeadLetterPublic):
    pass


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next_cursor: str | None


class RedeliverOut(BaseModel):
    requested: int


# --- handlers --------------------------------------------------------------------------------


@router.post("", summary="Subscribe an agency endpoint to changes (HMAC secret shown once)",
             status_code=201, response_model=SubscriptionCreated)
async def create(body: SubscriptionCreate, principal: Admin, hub: HubDep) -> JSON:
    created = await service.create_subscription(hub, principal, **body.service_fields())
    return JSON({**created.subscription.model_dump(), "secret": created.secret}, status_code=201,
                headers={"Cache-Control": "no-store"})


@router.get("", summary="List subscriptions", response_model=SubscriptionListOut)
async def list_(principal: Admin, hub: HubDep, agency: AgencyQuery = None) -> JSON:
    items = await service.list_subscriptions(hub, principal, agency=agency)
    return JSON({"items": [i.model_dump() for i in items]})


@router.get("/{subscription_id}", summary="One subscription and its delivery state",
            response_model=SubscriptionOut)
async def get(subscription_id: SubscriptionId, principal: Admin, hub: HubDep) -> JSON:
    return JSON((await service.get_subscription(hub, principal, subscription_id)).model_dump())


@router.patch("/{subscription_id}", summary="Change endpoint, filters, credentials or active",
              response_model=SubscriptionOut)
async def update(
    subscription_id: SubscriptionId, body: SubscriptionUpdate, principal: Admin, hub: HubDep
) -> JSON:
    info = await service.update_subscription(hub, principal, subscription_id,
                                             **body.service_fields())
    return JSON(info.model_dump())


@router.delete("/{subscription_id}", summary="Delete a subscription", status_code=204)
async def delete(subscription_id: SubscriptionId, principal: Admin, hub: HubDep) -> Response:
    await service.delete_subscription(hub, principal, subscription_id)
    return Response(status_code=204)


@router.post("/{subscription_id}/secret", summary="Rotate the HMAC secret (shown once)",
             response_model=SubscriptionCreated)
async def rotate_secret(subscription_id: SubscriptionId, principal: Admin, hub: HubDep) -> JSON:
    created = await service.rotate_subscription_secret(hub, principal, subscription_id)
    return JSON({**created.subscription.model_dump(), "secret": created.secret},
                headers={"Cache-Control": "no-store"})


@router.post("/{subscription_id}/replay", summary="Deliver again every change after a cursor",
             response_model=SubscriptionOut)
async def replay(
    subscription_id: SubscriptionId, body: ReplayRequest, principal: Admin, hub: HubDep
) -> JSON:
    info = await service.replay_subscription(hub, principal, subscription_id, after=body.after)
    return JSON(info.model_dump())


@router.get("/{subscription_id}/deliveries", summary="Delivery attempts, newest first",
            response_model=DeliveryPage)
async def deliveries(
    subscription_id: SubscriptionId,
    principal: Admin,
    hub: HubDep,
    outcome: Annotated[DeliveryOutcome | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=19, pattern=r"^[0-9]+$")] = None,
) -> JSON:
    items, next_cursor = await service.list_deliveries(
        hub, principal, subscription_id, limit=limit, outcome=outcome,
        before=None if cursor is None else min(int(cursor), MAX_SEQ),
    )
    return JSON({"items": [i.model_dump() for i in items],
                 "next_cursor": None if next_cursor is None else str(next_cursor)})


@router.get("/{subscription_id}/dead-letters", summary="Events that exhausted their attempts",
            response_model=DeadLetterPage)
async def dead_letters(
    subscription_id: SubscriptionId,
    principal: Admin,
    hub: HubDep,
    status: Annotated[DeadLetterStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=19, pattern=r"^[0-9]+$")] = None,
) -> JSON:
    items, next_cursor = await service.list_dead_letters(
        hub, principal, subscription_id, status=status, limit=limit,
        after=None if cursor is None else min(int(cursor), MAX_SEQ),
    )
    return JSON({"items": [i.model_dump() for i in items],
                 "next_cursor": None if next_cursor is None else str(next_cursor)})


@router.post("/{subscription_id}/dead-letters/redeliver",
             summary="Redeliver dead letters (all, or the listed seqs)",
             response_model=RedeliverOut)
async def redeliver(
    subscription_id: SubscriptionId, principal: Admin, hub: HubDep,
    body: RedeliverRequest | None = None,
) -> JSON:
    count = await service.redeliver_dead_letters(
        hub, principal, subscription_id, seqs=None if body is None else body.seqs
    )
    return JSON({"requested": count})
