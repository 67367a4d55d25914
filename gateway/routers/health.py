"""Liveness, readiness and metrics, outside ``/v1``: unauthenticated, except ``/metrics``
when ``RIGHTSHUB_METRICS_TOKEN`` is set."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway import _ops_metrics
from gateway.deps import HubDep
from gateway.http._json import JSON
from hub import Unauthenticated, current_revision, head_revision

router = APIRouter(tags=["Operations"], include_in_schema=True)


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database is reachable and migrated to the current revision",
    responses={503: {"description": "Not ready"}},
)
async def readyz(hub: HubDep) -> Response:
    checks: dict[str, str] = {}
    try:
        async with hub.db.session() as session:
            await session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
        current = await current_revision(hub.db.engine)
        head = head_revision(hub.settings)
        checks["migrations"] = "ok" if current == head else f"at {current}, expected {head}"
    except Exception as exc:  # any failure to reach the database means "not ready"
        checks.setdefault("database", f"unreachable ({type(exc).__name__})")
    ready = all(v == "ok" for v in checks.values()) and len(checks) == 2
    return JSON(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request, hub: HubDep) -> Response:
    expected = hub.settings.metrics_token
    if expected is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), expected.get_secret_value().encode()
        ):
            raise Unauthenticated(
                "Cần token đo lường: gửi header Authorization: Bearer <token>.",
                "The metrics token is required: send Authorization: Bearer <token>.",
            )
    await _ops_metrics.refresh(hub, getattr(request.app.state, "rate_limiter", None))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
