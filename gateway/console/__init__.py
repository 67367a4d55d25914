"""The admin console at ``/console``: server-rendered pages (Jinja2), Vietnamese first.

Sign-in with the admin accounts of ``auth`` (and OIDC where configured); every page acts as
the signed-in admin's principal through the same ``auth`` services as the admin API, so
roles and tenancy (an agency admin sees and manages its own agency only) and the audit log
are the same. Static assets are served by the hub itself (no CDN); pages carry no inline
script, so the strict Content-Security-Policy of the gateway holds.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from gateway.console import (
    _pages_agencies,
    _pages_audit,
    _pages_auth,
    _pages_bundles,
    _pages_clients,
    _pages_connectors,
    _pages_dashboard,
    _pages_files,
    _pages_imports,
    _pages_records,
    _pages_subscriptions,
    _pages_users,
)
from gateway.console._render import STATIC
from hub import Settings

__all__ = ["install_console"]


def install_console(app: FastAPI, settings: Settings, *, sso: bool = False) -> None:
    """Mount the console's pages and static assets on ``app``."""
    app.state.console_sso = sso
    app.mount("/console/static", StaticFiles(directory=str(STATIC)), name="console-static")
    for module in (_pages_auth, _pages_dashboard, _pages_records, _pages_files, _pages_imports,
                   _pages_agencies, _pages_clients, _pages_connectors, _pages_bundles,
                   _pages_subscriptions, _pages_users, _pages_audit):
        app.include_router(module.router)
