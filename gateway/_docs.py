"""The API's browser pages, served by the hub itself with nothing from another host (ministry
and provincial networks are often closed to the internet):

* ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) take their bundles from the installed
  ``fastapi-offline`` package (``/static/docs/``);
* the GraphiQL page is Strawberry's own, with each CDN file it names replaced by the copy
  vendored at install time (``gateway._assets_fetch``: pinned, checksummed, served from
  ``/static/vendor/``). The SRI ``integrity`` attributes stay: the browser checks the local
  copy against the same hash the CDN copy had.

The Content-Security-Policy (``gateway.http._middleware``) names only ``'self'``, so a page that
still pointed elsewhere would fail in the browser, not silently phone out.
"""

from __future__ import annotations

import functools
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from gateway._assets_fetch import VENDOR, cdn_files, local_path

DOCS_STATIC = Path(fastapi_offline.__file__).resolve().parent / "static"
DOCS_PREFIX = "/static/docs"
VENDOR_PREFIX = "/static/vendor"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


# ReDoc's bundle draws Redocly's logo from their CDN (a known limitation: no option turns it
# off); the hub serves the bundle with that one address pointed at its own logo.
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
_HUB_LOGO = b"/console/static/favicon.svg"


class AssetsMissing(RuntimeError):
    """A browser page names a file that was not vendored (``make install`` fetches them)."""


def offline_graphiql(html: str) -> str:
    """Strawberry's GraphiQL page with every CDN file pointed at its vendored copy."""
    for f in cdn_files(html):
        path = local_path(f["package"], f["version"], f["path"])
        if not (VENDOR / path).is_file():
            raise AssetsMissing(path)
        html = html.replace(f"https://unpkg.com/{f['package']}@{f['version']}/{f['path']}",
                            f"{VENDOR_PREFIX}/{path}")
    if "https://" in html.replace("https://github.com", ""):  # a link in a comment is fine
        raise AssetsMissing("the page still names another host")
    return html


@functools.cache
def _redoc_bundle() -> bytes:
    return (DOCS_STATIC / "redoc.standalone.js").read_bytes().replace(_REDOC_LOGO, _HUB_LOGO)


def install_docs(app: FastAPI, title: str) -> None:
    """``/docs``, ``/redoc``, Swagger's OAuth2 redirect page and the static bundles."""

    @app.get(f"{DOCS_PREFIX}/redoc.js", include_in_schema=False)
    async def redoc_bundle() -> Response:
        return Response(_redoc_bundle(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    app.mount(DOCS_PREFIX, StaticFiles(directory=str(DOCS_STATIC)), name="docs-static")
    app.mount(VENDOR_PREFIX, StaticFiles(directory=str(VENDOR), check_dir=False),
              name="vendor-static")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{title} — Swagger UI",
            oauth2_redirect_url=OAUTH2_REDIRECT,
            swagger_js_url=f"{DOCS_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_PREFIX}/favicon.png",
            # No badge from validator.swagger.io (another host) for a spec on a public name.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url, title=f"{title} — ReDoc",
            redoc_js_url=f"{DOCS_PREFIX}/redoc.js",
            redoc_favicon_url=f"{DOCS_PREFIX}/favicon.png", with_google_fonts=False,
        )
