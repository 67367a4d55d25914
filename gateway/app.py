"""The FastAPI application: the hub's faces mounted together, middleware declared in order."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import schemas
from auth import RateLimiter
from connectors import start_worker
from gateway._docs import install_docs
from gateway._logging import configure_logging
from gateway._wire import Problem
from gateway.console import install_console
from gateway.graphql import graphql_route
from gateway.http import _tus as tus
from gateway.http._middleware import (
    BodySizeLimitMiddleware,
    IpRateLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from gateway.http._problems import install_problem_handlers
from gateway.http._query import reject_unknown_query
from gateway.http._tus import TUS_REQUEST_HEADERS, TUS_RESPONSE_HEADERS
from gateway.routers import (
    admin,
    changes,
    files,
    health,
    oauth,
    programme,
    reference,
    subscriptions,
)
from gateway.routers import bundles as bundle_routes
from gateway.routers import connectors as connector_routes
from gateway.routers.records import record_router
from gateway.routers.sso import session_middleware, sso_configured, sso_router
from hub import Hub, Settings

API_DESCRIPTION = f"""
RightsHub — the data-exchange hub of the shared database of human-rights communication
(Decision 1079/QĐ-TTg). Agency systems push records of the shared data standard
(v{schemas.STANDARD_VERSION}), read what every agency shared, and follow the change feed.
Errors are RFC 9457 problem details with messages in Vietnamese and English.
"""


def create_app(settings: Settings | None = None, *, hub: Hub | None = None) -> FastAPI:
    settings = settings or Settings()
    if settings.environment != "test":
        configure_logging(settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.hub = hub or Hub(settings)
        # Everything built so far (schemas, SQLAlchemy metadata, the GraphQL schema) lives as
        # long as the process: frozen out of the collector's sight, a full collection scans
        # only what requests left behind. py-spy --native: collections took 18 % of a server's
        # CPU serving 50 products (bench/graphql); frozen, the server's CPU per request fell
        # by about a fifth (medians of 4 alternating runs of GraphQL). Unfrozen at shutdown, so
        # a process that starts several apps (the tests) does not keep their garbage.
        # Not on SQLite: connections the pool drops after the file was read-only let go of
        # the file only when collected, if at all; a frozen hub was seen never to write again
        # once its storage was writable (the storage fault test now restarts the hub after
        # read-only storage, see hub._db).
        freeze = not settings.is_sqlite
        if freeze:
            gc.freeze()
            # And collect the young generation every 20,000 allocations, not 700: a page of
            # 50 products allocates a few thousand objects that live until the response is
            # sent, and were traversed several times per request (CPU per GraphQL request
            # -6 %, medians of alternating runs).
            thresholds = gc.get_threshold()
            gc.set_threshold(20_000, *thresholds[1:])
        # The embedded default runs the worker (scheduled pulls, deliveries) in process.
        stop_worker = start_worker(app.state.hub) if settings.worker_in_process_on else None
        try:
            yield
        finally:
            if stop_worker is not None:
                await stop_worker()
            if hub is None:
                await app.state.hub.close()
            if freeze:
                gc.unfreeze()
                gc.set_threshold(*thresholds)

    rate_limiter = RateLimiter.from_settings(settings)
    # CORS is closed unless origins are configured: then exactly those, nothing else.
    cors = [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match",
                           "Idempotency-Key", "X-Request-ID", "Accept-Language",
                           # tus uploads from a browser (tus-js-client, Uppy) and video seeking
                           *TUS_REQUEST_HEADERS, "Range", "If-Range"],
            expose_headers=["ETag", "Retry-After", "X-Request-ID", "Location",
                            *TUS_RESPONSE_HEADERS, "Content-Range", "Accept-Ranges"],
        )
    ] if settings.cors_origins else []
    # Behind trusted reverse proxies, the client address and scheme they forward replace the
    # socket's before anything reads them (access log, per-IP limit, login throttle).
    proxies = [Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
               ] if settings.trusted_proxies else []
    middleware = [
        *proxies,
        # Outermost: every response, errors included, carries the request id and is logged.
        Middleware(RequestContextMiddleware),
        # Every response, 429 and 413 included, carries the security headers.
        Middleware(SecurityHeadersMiddleware),
        *cors,
        # Per-IP limit before routing (per-client limits follow authentication, gateway.deps).
        Middleware(IpRateLimitMiddleware, limiter=rate_limiter),
        # Before any route reads a body.
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
    ]
    if sso_configured(settings):  # OIDC state and nonce between redirect and callback
        middleware.append(session_middleware(settings))
    app = FastAPI(
        title="RightsHub API",
        version="1.0.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        middleware=middleware,
        # Served by gateway._docs from installed packages: nothing from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.rate_limiter = rate_limiter
    install_problem_handlers(app)
    install_docs(app, "RightsHub API")
    # Every /v1 route refuses query parameters it does not declare (a misspelt filter).
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(reject_unknown_query)])
    for record_type in schemas.RECORD_TYPES.values():
        v1.include_router(record_router(record_type))
    v1.include_router(changes.router)
    v1.include_router(reference.router)
    v1.include_router(admin.router)
    v1.include_router(connector_routes.router)  # /v1/admin/connectors: pull connectors
    v1.include_router(bundle_routes.router)  # /v1/admin/bundles/export: offline bundles
    v1.include_router(files.router)  # product archive: files, downloads, report
    v1.include_router(tus.router)  # resumable uploads (tus 1.0)
    v1.include_router(subscriptions.router)
    v1.include_router(programme.router)  # archive duty (issue 22)
    app.include_router(v1)
    if sso_configured(settings):
        app.include_router(sso_router(settings))
    # The admin console (HTML pages and their static assets under /console).
    install_console(app, settings, sso=sso_configured(settings))
    app.include_router(health.router)
    app.include_router(oauth.router)
    # /graphql (gateway.graphql); first, so its requests skip matching every REST route.
    app.router.routes.insert(0, graphql_route(settings))
    _add_standard_schemas(app)
    return app


def _add_standard_schemas(app: FastAPI) -> None:
    """Put every record type's input model into the OpenAPI components, so batch and PUT
    bodies (parsed by hand to report per-record errors) are documented by reference."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        for record_type in schemas.RECORD_TYPES.values():
            schema = record_type.model.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            for name, definition in schema.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components[record_type.model.__name__] = schema
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
