"""Subscriptions and deliveries: create (the signing secret shown once), pause and resume,
delivery attempts, dead letters and their redelivery. Tenancy and the audit entries are done
by the services of ``connectors`` (shared with ``/v1/admin/subscriptions``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

import connectors
import schemas
from gateway.console._forms import ident, read_form, validated
from gateway.console._labels import record_type_choices, refuse
from gateway.console._pages_auth import User
from gateway.console._pages_clients import agency_choices
from gateway.console._render import ConsoleRoute, render
from gateway.console._session import ConsoleUser
from gateway.deps import HubDep
from hub import Hub
from hub.tables import SubscriptionCreate

_WORDS = {"endpoint_url": "subs.endpoint", "record_types": "subs.types"}

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


@router.get("/subscriptions")
async def subscriptions_page(request: Request, user: User, hub: HubDep) -> Response:
    items = await connectors.list_subscriptions(hub, user.principal)
    return render(request, "subscriptions.html", {
        "items": items, "agencies": await agency_choices(hub, user),
        "types": schemas.RECORD_TYPES,
    })


@router.post("/subscriptions")
async def subscription_create(request: Request, user: User, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    record_types = [t for t in form.texts("record_types") if t]
    for wrong in (t for t in record_types if t not in schemas.RECORD_TYPES):
        raise refuse("Loại hồ sơ", "record type", wrong, record_type_choices)
    beginning = form.text("deliver_from", max_length=10) == "beginning"
    # Lengths, patterns and the URL's form are the admin API's body's (SubscriptionCreate).
    body = validated(SubscriptionCreate, {
        **form.given("agency", "name", "endpoint_url"),
        "record_types": record_types or None,
        "deliver_from": "beginning" if beginning else "now",
    }, _WORDS)
    created = await connectors.create_subscription(hub, user.principal,
                                                   **body.service_fields())
    return await _page(request, hub, user, created.subscription.id, secret=created.secret)


async def _page(request: Request, hub: Hub, user: ConsoleUser, subscription_id: str,
                **extra: Any) -> Response:
    info = await connectors.get_subscription(hub, user.principal, subscription_id)
    deliveries, _ = await connectors.list_deliveries(hub, user.principal, subscription_id,
                                                     limit=30)
    dead, _ = await connectors.list_dead_letters(hub, user.principal, subscription_id,
                                                 limit=100)
    return render(request, "subscription.html", {
        "s": info, "deliveries": deliveries, "dead": dead, **extra,
    })


@router.get("/subscriptions/{subscription_id}")
async def subscription_page(subscription_id: str, request: Request, user: User,
                            hub: HubDep) -> Response:
    return await _page(request, hub, user, ident(subscription_id))


@router.post("/subscriptions/{subscription_id}/redeliver")
async def subscription_redeliver(subscription_id: str, request: Request, user: User,
                                 hub: HubDep) -> Response:
    form = await read_form(request, hub)
    subscription_id = ident(subscription_id)
    seq_text = form.text("seq", max_length=20)
    seqs = [int(seq_text)] if seq_text.isdigit() else None
    count = await connectors.redeliver_dead_letters(hub, user.principal, subscription_id,
                                                    seqs=seqs)
    return RedirectResponse(f"/console/subscriptions/{subscription_id}?redelivered={count}",
                            status_code=303)


@router.post("/subscriptions/{subscription_id}/active")
async def subscription_active(subscription_id: str, request: Request, user: User,
                              hub: HubDep) -> Response:
    form = await read_form(request, hub)
    subscription_id = ident(subscription_id)
    await connectors.update_subscription(hub, user.principal, subscription_id,
                                         active=form.flag("active"))
    return RedirectResponse(f"/console/subscriptions/{subscription_id}", status_code=303)


@router.post("/subscriptions/{subscription_id}/secret")
async def subscription_secret(subscription_id: str, request: Request, user: User,
                              hub: HubDep) -> Response:
    await read_form(request, hub)
    subscription_id = ident(subscription_id)
    created = await connectors.rotate_subscription_secret(hub, user.principal, subscription_id)
    return await _page(request, hub, user, subscription_id, secret=created.secret)
