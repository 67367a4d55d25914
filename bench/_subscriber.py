"""A subscriber for the delivery benchmarks: ``uvicorn bench._subscriber:app``.

Verifies the HMAC signature of every request (``BENCH_SUBSCRIBER_SECRET``), counts events by
event id, and keeps for each event the delay from its change's timestamp (taken in the hub's
write transaction, just before commit) to its receipt. ``GET /stats`` reports them.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors._signing import SIGNATURE_HEADER, verify_delivery

_SECRET = os.environ.get("BENCH_SUBSCRIBER_SECRET", "")
_state: dict[str, Any] = {"events": 0, "ids": set(), "delays_ms": [], "refused": 0,
                          "first": None, "last": None}


async def events(request: Request) -> Response:
    body = await request.body()
    now = time.time()
    if _SECRET and not verify_delivery(_SECRET, request.headers.get(SIGNATURE_HEADER, ""), body):
        _state["refused"] += 1
        return Response(status_code=401)
    payload = orjson.loads(body)
    for event in payload["events"]:
        _state["events"] += 1
        _state["ids"].add(event["event_id"])
        changed = datetime.fromisoformat(event["record"]["updated_at"]).timestamp()
        _state["delays_ms"].append((now - changed) * 1000)
    _state["first"] = _state["first"] or now
    _state["last"] = now
    return Response(status_code=204)


async def stats(request: Request) -> Response:
    return Response(orjson.dumps({
        "events": _state["events"], "unique": len(_state["ids"]), "refused": _state["refused"],
        "delays_ms": _state["delays_ms"], "first": _state["first"], "last": _state["last"],
    }), media_type="application/json")


async def reset(request: Request) -> Response:
    global _SECRET
    _SECRET = (await request.body()).decode()
    _state.update(events=0, ids=set(), delays_ms=[], refused=0, first=None, last=None)
    return Response(status_code=204)


async def healthz(request: Request) -> Response:
    return Response(b"ok")


app = Starlette(routes=[Route("/events", events, methods=["POST"]),
                        Route("/stats", stats), Route("/reset", reset, methods=["POST"]),
                        Route("/healthz", healthz)])
