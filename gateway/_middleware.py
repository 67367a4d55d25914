"""Pure ASGI middleware (see Starlette's docs/middleware.md): request context and body limit.

Declared in one ordered list in :mod:`gateway.app`.
"""

from __future__ import annotations

import re
import time
import uuid

import orjson
import structlog
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("rightshub.access")

REQUESTS = Counter(
    "rightshub_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "rightshub_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """Reads ``X-Request-ID`` (or makes one), binds it to structlog's context for every log
    line of the request, echoes it in the response, and logs and counts each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            REQUESTS.labels(scope["method"], route_path, str(status)).inc()
            LATENCY.labels(scope["method"], route_path).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                client_id=scope.get("state", {}).get("client_id"),
            )
            structlog.contextvars.clear_contextvars()


def _too_large(limit: int) -> bytes:
    return orjson.dumps(
        {
            "type": "urn:rightshub:problem:payload-too-large",
            "title": "Dữ liệu quá lớn",
            "status": 413,
            "detail": f"Nội dung yêu cầu vượt quá giới hạn {limit} byte.",
            "title_vi": "Dữ liệu quá lớn",
            "title_en": "Payload too large",
            "detail_vi": f"Nội dung yêu cầu vượt quá giới hạn {limit} byte; "
            "hãy chia nhỏ hoặc gửi NDJSON.",
            "detail_en": f"The request body exceeds the {limit}-byte limit; split it or "
            "stream NDJSON.",
        }
    )


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413, by ``Content-Length`` up front and by
    counting streamed chunks otherwise, so an oversized body is never buffered whole.

    NDJSON bodies are streamed record by record and limited per line by the ingest route.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_ndjson(scope):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        limit = self.max_bytes

        async def limited_receive() -> Message:
            # Raised while the route reads its body, so the problem handler answers 413.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"The request body exceeds the {limit}-byte limit")
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/problem+json")],
            }
        )
        await send({"type": "http.response.body", "body": _too_large(self.max_bytes)})


def _is_ndjson(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    return content_type.split(b";")[0].strip().lower() == b"application/x-ndjson"
