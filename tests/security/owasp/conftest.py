"""Shared pieces of the OWASP API Security Top 10 (2023) suite: admin accounts and their
session tokens, sample records of every type, and the app's routes enumerated so a new route
is covered without touching the tests. Runs on SQLite and PostgreSQL (tests/conftest.py)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import routing as fastapi_routing

import schemas
from auth._admins import create_admin, get_admin, reset_password
from hub import Hub

ADMIN_PASSWORD = "correct horse battery staple 42"

# username -> (role, agency)
ADMINS: dict[str, tuple[str, str | None]] = {
    "sec-hub-admin": ("hub_admin", None),
    "sec-g16-admin": ("agency_admin", "G16"),
    "sec-g15-admin": ("agency_admin", "G15"),
}

SAMPLES: dict[str, dict[str, Any]] = {
    "products": {"source_id": "S", "kind": "book", "title": "Sách", "languages": ["vie"]},
    "events": {"source_id": "S", "kind": "press_briefing", "title": "Họp báo",
               "start_date": "2025-06-01"},
    "training-courses": {"source_id": "S", "title": "Lớp tập huấn", "form": "in_person",
                         "start_date": "2025-05-01"},
    "awards": {"source_id": "S", "kind": "contest", "title": "Cuộc thi", "year": 2025},
    "plans": {"source_id": "S", "title": "Kế hoạch", "year_from": 2024, "year_to": 2028},
    "budgets": {"source_id": "S", "title": "Dự toán", "year": 2025, "amount_vnd": 1000},
    "reports": {"source_id": "S", "kind": "annual", "title": "Báo cáo năm",
                "period_start": "2025-01-01", "period_end": "2025-12-31"},
}


def sample(record_type: str, source_id: str, **extra: Any) -> dict[str, Any]:
    body = copy.deepcopy(SAMPLES[record_type])
    body.update(source_id=source_id, **extra)
    return body


async def ensure_admins(hub: Hub) -> None:
    """The suite's admin accounts, created once per database and reset to a known state."""
    for username, (role, agency) in ADMINS.items():
        if await get_admin(hub, username) is None:
            await create_admin(hub, username=username, role=role, agency=agency,
                               password=ADMIN_PASSWORD)
        else:
            await reset_password(hub, username, ADMIN_PASSWORD)


async def login(client: httpx.AsyncClient, username: str,
                password: str = ADMIN_PASSWORD) -> dict[str, str]:
    response = await client.post("/v1/admin/session",
                                 json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass
class AdminTokens:
    hub: dict[str, str]
    g16: dict[str, str]
    g15: dict[str, str]


@pytest.fixture
async def admins(hub: Hub, client: httpx.AsyncClient) -> AdminTokens:
    await ensure_admins(hub)
    return AdminTokens(
        hub=await login(client, "sec-hub-admin"),
        g16=await login(client, "sec-g16-admin"),
        g15=await login(client, "sec-g15-admin"),
    )


# --- route enumeration -------------------------------------------------------------------------

PUBLIC_PATHS = {
    "/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json",
    "/redoc", "/static/docs/redoc.js",  # the API's browser pages and ReDoc's bundle
    "/oauth/token", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server",
    "/v1/admin/session", "/console/login/sso", "/console/login/sso/callback",
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template, e.g. /v1/products/{source_id:path}
    documented: bool  # include_in_schema

    def url(self, **values: str) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1).split(":")[0]
            return values.get(name, "x-unknown")

        return re.sub(r"\{([^}]+)\}", fill, self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _route_contexts(app: Any) -> list[Any]:
    """Every route of the app, included routers flattened (FastAPI >= 0.16x keeps included
    routers as nested objects; older versions copy their routes into ``app.routes``)."""
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    return list(iterate(app.routes)) if iterate is not None else list(app.routes)


def endpoints(app: Any) -> list[Endpoint]:
    """Every (method, path) the app serves through an HTTP route."""
    found = []
    for route in _route_contexts(app):
        methods = getattr(route, "methods", None)
        path = getattr(route, "path", None)
        if not methods or not path:
            continue
        if path.startswith("/console") and path not in PUBLIC_PATHS:
            # The admin console's HTML pages: a cookie session (sign-in redirect, CSRF on
            # every form), not bearer credentials; tests/console checks their roles and CSRF.
            continue
        documented = bool(getattr(route, "include_in_schema", False))
        for method in sorted(set(methods) - {"HEAD", "OPTIONS"}):
            found.append(Endpoint(method, path, documented))
    return found


def protected(app: Any) -> list[Endpoint]:
    return [e for e in endpoints(app) if e.path not in PUBLIC_PATHS]


def record_type_of(endpoint: Endpoint) -> str | None:
    for name in schemas.RECORD_TYPES:
        if endpoint.path == f"/v1/{name}" or endpoint.path.startswith(
            (f"/v1/{name}/", f"/v1/{name}:")
        ):
            return name
    return None
