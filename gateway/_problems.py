"""RFC 9457 problem details: the one place where errors become responses.

Every problem carries ``detail_vi`` and ``detail_en``; ``title`` and ``detail`` follow the
caller's ``Accept-Language`` (Vietnamese unless English is preferred). No stack trace or
internal message ever reaches a client.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

import schemas
from gateway._json import ProblemJSON
from hub import HubError

log = structlog.get_logger("rightshub.errors")

PROBLEM_BASE = "urn:rightshub:problem:"

_HTTP_TEXTS: dict[int, tuple[str, str, str]] = {
    404: ("not-found", "Không tìm thấy", "Not found"),
    405: ("method-not-allowed", "Phương thức không được hỗ trợ", "Method not allowed"),
    406: ("not-acceptable", "Không thể trả về định dạng yêu cầu", "Not acceptable"),
    413: ("payload-too-large", "Dữ liệu quá lớn", "Payload too large"),
    415: ("unsupported-media-type", "Kiểu nội dung không được hỗ trợ", "Unsupported media type"),
}


def prefers_english(request: Request) -> bool:
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].strip().lower()
    return first.startswith("en")


def problem(
    request: Request,
    *,
    status: int,
    slug: str,
    title_vi: str,
    title_en: str,
    detail_vi: str,
    detail_en: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemJSON:
    english = prefers_english(request)
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title_en if english else title_vi,
        "status": status,
        "detail": detail_en if english else detail_vi,
        "instance": request.url.path,
        "title_vi": title_vi,
        "title_en": title_en,
        "detail_vi": detail_vi,
        "detail_en": detail_en,
        "request_id": request.scope.get("state", {}).get("request_id"),
    }
    body.update(extra)
    return ProblemJSON(body, status_code=status, headers=headers)


async def _hub_error(request: Request, exc: Exception) -> ProblemJSON:
    assert isinstance(exc, HubError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(
        request,
        status=exc.status,
        slug=exc.type_slug,
        title_vi=exc.title_vi,
        title_en=exc.title_en,
        detail_vi=exc.detail_vi,
        detail_en=exc.detail_en,
        headers=headers,
        **exc.extra,
    )


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


async def _request_validation(request: Request, exc: Exception) -> ProblemJSON:
    """Query, path and header parameters FastAPI rejected: one field problem each."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "path": _loc(tuple(e.get("loc", ()))),
            "code": e.get("type", "invalid"),
            "message_vi": schemas.problem_from_error(e).message_vi,
            "message_en": str(e.get("msg", "Invalid value"))[:300],
        }
        for e in exc.errors()
    ]
    return problem(
        request,
        status=400,
        slug="invalid-input",
        title_vi="Tham số không hợp lệ",
        title_en="Invalid parameters",
        detail_vi="Một số tham số của yêu cầu không hợp lệ; xem danh sách errors.",
        detail_en="Some request parameters are invalid; see the errors list.",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> ProblemJSON:
    assert isinstance(exc, StarletteHTTPException)
    slug, title_vi, title_en = _HTTP_TEXTS.get(
        exc.status_code, ("http-error", "Lỗi yêu cầu", "Request error")
    )
    return problem(
        request,
        status=exc.status_code,
        slug=slug,
        title_vi=title_vi,
        title_en=title_en,
        detail_vi=title_vi + ".",
        detail_en=str(exc.detail) if isinstance(exc.detail, str) else title_en,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _unexpected(request: Request, exc: Exception) -> ProblemJSON:
    # A bug, not the client's fault: logged with its trace, answered without it.
    log.exception("unhandled_error", error_type=type(exc).__name__)
    return problem(
        request,
        status=500,
        slug="internal-error",
        title_vi="Lỗi hệ thống",
        title_en="Internal error",
        detail_vi="Hub gặp lỗi ngoài dự kiến; lỗi đã được ghi lại với mã request_id.",
        detail_en="The hub hit an unexpected error; it was logged under the request_id.",
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HubError, _hub_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
