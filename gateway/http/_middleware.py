"""Pure ASGI middleware (see Starlette's docs/middleware.md): request context and body limit.

Declared in one ordered list in :mod:`gateway.app`.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
import uuid

import structlog
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth import RateLimiter
from gateway.http._problems import problem_for
from hub import PayloadTooLarge, RateLimited

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
            # FastAPI >= 0.137 puts the included router's own route in scope["route"] (path
            # without the include prefixes, e.g. "/products"); the full template is on the
            # effective route context.
            effective = scope.get("fastapi", {}).get("effective_route_context")
            route_path = getattr(effective, "path", None) or getattr(
                scope.get("route"), "path", "unmatched"
            )
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


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Nội dung yêu cầu vượt quá giới hạn {limit} byte; hãy chia nhỏ hoặc gửi NDJSON.",
        f"The request body exceeds the {limit}-byte limit; split it or stream NDJSON.",
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
        if scope["type"] != "http" or _is_ndjson(scope) or _is_file_upload(scope):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            refusal = problem_for(Request(scope), _too_large(self.max_bytes))
            await refusal(scope, receive, send)
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
                    raise _too_large(limit)
            return message

        await self.app(scope, limited_receive, send)

# File uploads of the product archive stream to disk under their own limits
# (archive_max_file_bytes, archive_simple_upload_max_bytes), enforced by their routes.
_FILE_UPLOAD = re.compile(r"^/v1/(uploads(/[^/]+)?|records/[^/]+/files)$")


def _is_file_upload(scope: Scope) -> bool:
    return scope["method"] in ("POST", "PATCH") and bool(_FILE_UPLOAD.match(scope["path"]))


def _is_ndjson(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    return content_type.split(b";")[0].strip().lower() == b"application/x-ndjson"


# --- Security (issue 3): per-IP rate limit and security headers -----------------------------

# Health probes and metrics scrapes come from the load balancer and monitoring at a steady
# rate: they are not throttled per IP.
_NOT_RATE_LIMITED = ("/healthz", "/readyz", "/metrics")


class IpRateLimitMiddleware:
    """Counts every request per client IP before routing and answers 429 problem+json with
    ``Retry-After`` when the IP is over its limit (``RIGHTSHUB_RATE_LIMIT_IP``).

    The IP is the socket peer (uvicorn runs without proxy headers), or the client a trusted
    reverse proxy names (``RIGHTSHUB_TRUSTED_PROXIES``: its X-Forwarded-For, applied by the
    proxy-headers middleware in front of this one).
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self.limiter.ip_limits
            or scope["path"] in _NOT_RATE_LIMITED
        ):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        verdict = await self.limiter.check_ip(ip)
        if verdict.allowed:
            await self.app(scope, receive, send)
            return
        refusal = problem_for(
            Request(scope),
            RateLimited(
                f"Địa chỉ IP này vượt giới hạn {verdict.limit} yêu cầu; "
                f"hãy thử lại sau {verdict.retry_after} giây.",
                f"This IP address exceeded the rate limit of {verdict.limit}; "
                f"retry in {verdict.retry_after} seconds.",
                retry_after=verdict.retry_after,
            ),
            headers={"Retry-After": str(verdict.retry_after)},
        )
        await refusal(scope, receive, send)


_BASE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# JSON and other non-HTML answers: nothing may be loaded or framed from them.
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# HTML (the console, /docs, /redoc, GraphiQL): everything from the hub itself ('self': no
# other host, not even a CDN; closed networks), inline scripts only by hash (computed per
# response), no framing, no plugins. Swagger UI and GraphiQL set style attributes on their
# elements, so inline styles stay allowed (scripts not); their icons are data: URIs, and
# ReDoc's search runs in a worker it builds from a blob: of its own bundle.
_HTML_CSP = (
    "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'; connect-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; script-src 'self'{hashes}"
)
_HSTS = b"max-age=31536000; includeSubDomains"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def html_csp(body: bytes) -> bytes:
    """The HTML policy, allowing exactly the inline scripts of ``body`` by their SHA-256."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in _INLINE_SCRIPT.finditer(body)
    )
    return _HTML_CSP.format(hashes=hashes).encode()


class SecurityHeadersMiddleware:
    """Adds nosniff, no-referrer, DENY framing and a Content-Security-Policy to every
    response; HSTS only when the request came over https. HTML answers (small pages) are
    buffered to hash their inline scripts into a strict policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        start: Message | None = None
        html_body: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", [])
                    if k.lower() not in {b"x-content-type-options", b"referrer-policy",
                                         b"x-frame-options"}
                ]
                headers.extend(_BASE_HEADERS)
                if https:
                    headers.append((b"strict-transport-security", _HSTS))
                content_type = dict(headers).get(b"content-type", b"")
                message = {**message, "headers": headers}
                if content_type.lower().startswith(b"text/html"):
                    start = message  # sent with the policy once the body is known
                    return
                if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", _API_CSP))
                await send(message)
                return
            if start is not None and message["type"] == "http.response.body":
                html_body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(html_body)
                head = scope["method"] == "HEAD"  # keeps the GET body's length
                drop = {b"content-security-policy"} if head else {
                    b"content-security-policy", b"content-length"}
                headers = [(k, v) for k, v in start["headers"] if k.lower() not in drop]
                headers.append((b"content-security-policy", html_csp(body)))
                if not head:
                    headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, send_with_headers)
