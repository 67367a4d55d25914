"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from auth import login
from gateway.console._forms import read_form
from gateway.console._render import ConsoleRoute, render
from gateway.console._session import (
    LANG_COOKIE,
    ConsoleUser,
    clear_session_cookie,
    current_user,
    language,
    set_session_cookie,
    sign_out,
    signed_in,
)
from gateway.deps import HubDep, client_address
from hub import RateLimited, Unauthenticated

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


async def _user(request: Request, hub: HubDep) -> ConsoleUser:
    user = await current_user(request, hub)
    request.scope["rightshub.console_user"] = user
    return user


User = Annotated[ConsoleUser, Depends(_user)]


def safe_next(target: str | None) -> str:
    """Only console paths of this site: no open redirect."""
    if target and target.startswith("/console") and not target.startswith("//") \
            and "\\" not in target and len(target) < 500:
        return target
    return "/console/dashboard"


@router.get("")
@router.get("/")
async def home(user: User) -> RedirectResponse:
    return RedirectResponse("/console/dashboard", status_code=303)


@router.get("/login")
async def login_form(request: Request) -> Response:
    return render(request, "login.html", {"next": safe_next(request.query_params.get("next"))})


@router.post("/login")
async def login_submit(request: Request, hub: HubDep) -> Response:
    form = await read_form(request, hub)
    username = form.text("username", max_length=200)
    password = form.data.get("password")
    target = safe_next(form.text("next", max_length=500))
    english = language(request) == "en"
    try:
        if not username or not isinstance(password, str) or not password \
                or len(password) > 1024:
            raise Unauthenticated("Tên đăng nhập hoặc mật khẩu không đúng.",
                                  "Wrong username or password.")
        admin = await login(hub, username, password, address=client_address(request))
    except (Unauthenticated, RateLimited) as exc:
        wait = exc.extra.get("retry_after") if isinstance(exc, RateLimited) else None
        headers = {"Retry-After": str(wait)} if wait else None
        return render(request, "login.html", {
            "next": target, "username": username,
            "error": exc.detail_en if english else exc.detail_vi,
        }, status=exc.status, headers=headers)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, hub.settings, await signed_in(hub, admin.username))
    return response


@router.post("/logout")
async def logout(request: Request, hub: HubDep) -> Response:
    await read_form(request, hub)
    await sign_out(request, hub)  # the old cookie, if kept or copied, opens nothing now
    response = RedirectResponse("/console/login", status_code=303)
    clear_session_cookie(response, request, hub.settings)
    return response


@router.get("/lang/{code}")
async def switch_language(code: str, request: Request) -> Response:
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    response.set_cookie(LANG_COOKIE, "en" if code == "en" else "vi", max_age=365 * 86400,
                        path="/console", samesite="lax", httponly=True)
    return response
