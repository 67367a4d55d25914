"""Push deliveries against real HTTP servers on loopback.

:class:`Subscriber` is a small Starlette app served by uvicorn in the test's event loop, on
a fixed port, that can be stopped and started again ("down for a while"). It verifies the
HMAC signature (or the bearer token its own token endpoint issued), records every request,
and rebuilds the hub's state by applying events de-duplicated by event id.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import connectors
from hub import Hub, Principal
from hub._query import visible_to
from hub.tables import Record
from tests.conftest import _DATA_TABLES, make_settings
from tests.integration import free_port

HUB_ADMIN = Principal("test-hub-admin", "G16", frozenset({"admin", "admin:hub"}),
                      kind="admin", role="hub_admin")
ALL = frozenset({"records:read", "records:write", "changes:read"})
G16 = Principal("client-g16", "G16", ALL)
G15 = Principal("client-g15", "G15", ALL)


def agency_admin(agency: str) -> Principal:
    return Principal(f"test-{agency}-admin", agency, frozenset({"admin"}), kind="admin",
                     role="agency_admin")


@dataclass
class Subscriber:
    port: int
    secret: str | None = None
    # "ok"; "fail" (answer 500 without keeping anything); "flaky" (keep the events, then
    # answer 500: the hub sends them again, the receiver must de-duplicate).
    mode: str = "ok"
    oauth_client: tuple[str, str] | None = None
    delay: float = 0.0  # seconds per request: a slow subscriber
    requests: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    tokens: set[str] = field(default_factory=set)
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    # -- the app --

    async def _events(self, request: Request) -> Response:
        body = await request.body()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.oauth_client is not None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token not in self.tokens:
                self.refused += 1
                return Response(status_code=401)
        if self.secret is not None and not connectors.verify_delivery(
            self.secret, request.headers.get(connectors.SIGNATURE_HEADER, ""), body
        ):
            self.refused += 1
            return Response(status_code=401)
        if self.mode == "fail":
            return Response(status_code=500)
        payload = orjson.loads(body)
        self.requests.append({"headers": dict(request.headers), "payload": payload})
        if self.mode == "flaky":
            return Response(status_code=500)
        return Response(status_code=204)

    async def _token(self, request: Request) -> Response:
        assert self.oauth_client is not None
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        form = await request.form()
        expected = ":".join(self.oauth_client)
        ok = scheme.lower() == "basic" and base64.b64decode(value).decode() == expected
        if not ok or form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "token_type": "Bearer",
                             "expires_in": 3600})

    # -- lifecycle --

    async def start(self) -> None:
        app = Starlette(routes=[Route("/events", self._events, methods=["POST"]),
                                Route("/token", self._token, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(200):
            if self._server.started:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("subscriber did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None

    # -- what it received --

    def events(self) -> list[dict[str, Any]]:
        return [e for r in self.requests for e in r["payload"]["events"]]

    def state(self) -> dict[str, dict[str, Any]]:
        """Apply every event once (de-duplicated by event id), in arrival order."""
        seen: set[str] = set()
        state: dict[str, dict[str, Any]] = {}
        for event in self.events():
            if event["event_id"] in seen:
                continue
            seen.add(event["event_id"])
            record = event["record"]
            if event["op"] == "withdraw":
                state.pop(record["id"], None)
            else:
                state[record["id"]] = {"version": record["version"],
                                       "deleted": event["op"] == "delete",
                                       "data": record["data"] if event["op"] == "upsert"
                                       else None}
        return state


async def hub_state(hub: Hub, agency: str, record_type: str | None = None,
                    themes: set[str] | None = None,
                    owners: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """What ``agency`` may read in the hub, as the subscriber should hold it."""
    graph = await hub.catalog.agencies()
    principal = Principal("check", agency, ALL)
    async with hub.db.session() as session:
        stmt = sa.select(Record).where(visible_to(principal, graph))
        if record_type is not None:
            stmt = stmt.where(Record.record_type == record_type)
        if owners is not None:
            stmt = stmt.where(Record.owner_agency.in_(owners))
        rows = list(await session.scalars(stmt))
    state = {}
    for r in rows:
        if themes is not None and not r.deleted and themes.isdisjoint(r.data.get("themes", [])):
            continue
        state[r.id] = {"version": r.version, "deleted": r.deleted,
                       "data": None if r.deleted else r.data}
    return state


async def drain(hub: Hub, *, rounds: int = 200, until: Any = None) -> int:
    """Call ``deliver_pending`` until nothing is due (or ``until()`` holds)."""
    total = 0
    for _ in range(rounds):
        done = await connectors.deliver_pending(hub)
        total += done
        if until is not None and until():
            return total
        if done == 0 and until is None:
            return total
        await asyncio.sleep(0.01)
    return total


@pytest.fixture
async def delivery_hub(database_url: str) -> AsyncIterator[Hub]:
    """A hub with fast back-off and few attempts, and no subscriptions left from before."""
    hub = Hub(make_settings(database_url, delivery_backoff_base_seconds=0.05,
                            delivery_backoff_max_seconds=0.2, delivery_max_attempts=3))
    await _clean(hub, DELIVERY_TABLES + DATA_TABLES)
    try:
        yield hub
    finally:
        # No subscription outlives its test: another suite's worker would try to deliver.
        await _clean(hub, DELIVERY_TABLES)
        await hub.close()


DELIVERY_TABLES = ("delivery_dead_letters", "delivery_attempts", "subscriptions")
DATA_TABLES = _DATA_TABLES  # the suite's own list, in foreign-key order


async def _clean(hub: Hub, tables: tuple[str, ...]) -> None:
    async with hub.db.transaction() as session:
        for table in tables:
            await session.execute(sa.text(f"DELETE FROM {table}"))


@pytest.fixture
async def subscriber() -> AsyncIterator[Subscriber]:
    sub = Subscriber(free_port())
    await sub.start()
    try:
        yield sub
    finally:
        with contextlib.suppress(Exception):
            await sub.stop()
