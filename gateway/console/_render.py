"""Rendering console pages: one Jinja2 environment (autoescaped), the common page context,
and :class:`ConsoleRoute`, which turns every error of a console handler into an HTML page
(a hub error with its Vietnamese message, a sign-in redirect, a CSRF refusal) instead of the
API's problem JSON: no form input can make a page answer 500."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

import structlog
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.console._i18n import (
    fmt_date,
    fmt_datetime,
    fmt_number,
    fmt_vnd,
    translator,
)
from gateway.console._labels import (
    choices,
    kind_vocabulary,
    label,
    record_type_label,
    tagged,
    vocab_label,
)
from gateway.console._session import (
    CSRF_FIELD,
    CsrfFailed,
    LoginRequired,
    ensure_session,
    language,
    set_session_cookie,
)
from hub import HubError

log = structlog.get_logger("rightshub.console")

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "console"
STATIC = Path(__file__).resolve().parents[1] / "static" / "console"

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(date=fmt_date, datetime=fmt_datetime, number=fmt_number, vnd=fmt_vnd)
# Record content shown as JSON keeps its Vietnamese letters readable.
_env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}

NO_STORE = {"Cache-Control": "no-store"}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    hub = request.app.state.hub
    session, fresh = ensure_session(request, hub.settings)
    lang = language(request)
    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "t": translator(lang),
        "csrf_field": CSRF_FIELD,
        "csrf_token": session.csrf,
        "path": request.url.path,
        "user": request.scope.get("rightshub.console_user"),
        "sso": request.app.state.console_sso,
        # Codes as words, the code kept as a tooltip (see _labels).
        "label": lambda group, code: tagged(label(group, code, lang), code),
        "vlabel": lambda vocabulary, code: tagged(vocab_label(vocabulary, code, lang), code),
        "kind_label": lambda record_type, code: tagged(
            vocab_label(kind_vocabulary(record_type), code, lang), code),
        "rt_label": lambda name: tagged(record_type_label(name, lang), name),
        "choices": lambda group: choices(group, lang),
    }
    values.update(context or {})
    body = _env.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status, headers={**NO_STORE, **(headers or {})})
    if fresh:
        set_session_cookie(response, request, hub.settings, session)
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"message": message}, status=status)


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)


class ConsoleRoute(APIRoute):
    """A console route: errors become pages, never problem JSON or a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            t = translator(language(request))
            try:
                return await handler(request)
            except LoginRequired:
                return _login_redirect(request)
            except CsrfFailed:
                return error_page(request, 403, t("error.csrf"))
            except HubError as exc:
                english = language(request) == "en"
                return error_page(request, exc.status,
                                  exc.detail_en if english else exc.detail_vi)
            except RequestValidationError:
                return error_page(request, 400, t("error.title"))

        return console_handler
