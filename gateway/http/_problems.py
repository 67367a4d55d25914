"""RFC 9457 problem details: the one place where errors become responses.

Every problem carries ``detail_vi`` and ``detail_en``; ``title`` and ``detail`` follow the
caller's ``Accept-Language`` (Vietnamese unless English is preferred). No stack trace or
internal message ever reaches a client.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

import schemas
from gateway.http._json import ProblemJSON
from hub import HubError, Unavailable, audit_in_own_transaction

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


def batch_rejected(
    request: Request, summary: dict[str, Any], *, headers: dict[str, str] | None = None
) -> ProblemJSON:
    """422 for a batch that wrote nothing because its records were rejected (every one, or
    one of an atomic batch): a problem that carries the import summary (``summary``)."""
    if summary.get("ignored"):
        detail_vi = (f"Lô có {summary.get('rejected', 0)} bản ghi bị từ chối; với atomic=true "
                     "không bản ghi nào được ghi. Xem summary.rejections.")
        detail_en = (f"{summary.get('rejected', 0)} record(s) of the batch were rejected; with "
                     "atomic=true no record was written. See summary.rejections.")
    else:
        detail_vi = ("Mọi bản ghi của lô đều bị từ chối; không có gì được ghi. "
                     "Xem summary.rejections.")
        detail_en = ("Every record of the batch was rejected; nothing was written. "
                     "See summary.rejections.")
    return problem(
        request,
        status=422,
        slug="batch-rejected",
        title_vi="Lô dữ liệu bị từ chối",
        title_en="Batch rejected",
        detail_vi=detail_vi,
        detail_en=detail_en,
        headers=headers,
        summary=summary,
    )


def problem_for(
    request: Request, error: HubError, *, headers: dict[str, str] | None = None
) -> ProblemJSON:
    """The problem response of a hub error: for exception handlers and for pure ASGI
    middleware that refuses a request before routing (``problem_for(Request(scope), ...)``)."""
    return problem(
        request,
        status=error.status,
        slug=error.type_slug,
        title_vi=error.title_vi,
        title_en=error.title_en,
        detail_vi=error.detail_vi,
        detail_en=error.detail_en,
        headers=headers,
        **error.extra,
    )


async def _hub_error(request: Request, exc: Exception) -> ProblemJSON:
    assert isinstance(exc, HubError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if exc.status == 429 and "retry_after" in exc.extra:
        headers = {"Retry-After": str(exc.extra["retry_after"])}
    if exc.status in (401, 403):
        await _audit_denied_write(request, exc)
    return problem_for(request, exc, headers=headers)


_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _attempted_action(request: Request) -> str:
    path, method = request.url.path, request.method
    if path.startswith("/v1/admin"):
        return f"admin.{method.lower()}"
    if path.endswith(":batch"):
        return "records.batch"
    return {"PUT": "records.put", "DELETE": "records.delete"}.get(method, f"http.{method.lower()}")


async def _audit_denied_write(request: Request, exc: HubError) -> None:
    """Every refused write under /v1 (401, 403) leaves an audit entry, outcome "denied", in a
    transaction of its own (the write it refused never started one)."""
    if request.method not in _WRITE_METHODS or not request.url.path.startswith("/v1/"):
        return
    hub = getattr(request.app.state, "hub", None)
    if hub is None:
        return
    principal = request.scope.get("state", {}).get("principal")
    try:
        await audit_in_own_transaction(
            hub.db,
            actor=principal.client_id if principal is not None else "anonymous",
            actor_kind=principal.kind if principal is not None else "anonymous",
            agency=principal.agency if principal is not None else None,
            action=_attempted_action(request),
            target=request.url.path[:300],
            request_id=request.scope.get("state", {}).get("request_id"),
            outcome="denied",
            details={"status": exc.status, "reason": exc.type_slug,
                     "method": request.method, "detail": exc.detail_en[:300]},
        )
    except Exception as error:  # the refusal is answered even if it cannot be audited
        log.warning("audit_denied_failed", error_type=type(error).__name__)


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


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method of every route matching the path (RFC 9110 §15.5.6). Starlette's 405 names
    only the first matching route's methods, and GET, PUT and DELETE of a record are three."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    )


async def _http_error(request: Request, exc: Exception) -> ProblemJSON:
    assert isinstance(exc, StarletteHTTPException)
    slug, title_vi, title_en = _HTTP_TEXTS.get(
        exc.status_code, ("http-error", "Lỗi yêu cầu", "Request error")
    )
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem(
        request,
        status=exc.status_code,
        slug=slug,
        title_vi=title_vi,
        title_en=title_en,
        detail_vi=title_vi + ".",
        detail_en=str(exc.detail) if isinstance(exc.detail, str) else title_en,
        headers=headers or None,
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


class InsufficientStorage(Unavailable):
    status = 507
    type_slug = "insufficient-storage"
    title_vi = "Hết dung lượng lưu trữ"
    title_en = "Insufficient storage"


RETRY_AFTER_SECONDS = "5"
# SQLSTATEs (PostgreSQL) that mean "the database cannot serve this now", not "this request is
# wrong": connection exceptions (class 08), shutdown / starting up (57P01-57P03), crash
# recovery, too many connections, and the storage ones handled apart below.
_PG_UNAVAILABLE_PREFIXES = ("08", "57P", "53")
_PG_READ_ONLY = "25006"
_PG_DISK_FULL = "53100"
_SQLITE_UNAVAILABLE = ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_BUSY", "SQLITE_LOCKED")


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc``, the DBAPI error SQLAlchemy wraps and the driver errors behind them."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 10:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return seen


def database_unavailable(exc: BaseException) -> Unavailable | None:
    """The ONE mapping of database connectivity and storage failures (PostgreSQL down or
    restarting, a dropped connection, a read-only or full database, SQLite unable to open
    its file) to a 503 / 507 problem; ``None`` for anything else, which stays a 500."""
    read_only = full = unavailable = False
    for cause in _causes(exc):
        code = str(getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None) or "")
        sqlite_name = str(getattr(cause, "sqlite_errorname", "") or "")
        text = str(cause).lower()
        if code == _PG_READ_ONLY or sqlite_name.startswith("SQLITE_READONLY") or (
            "readonly database" in text or "read-only transaction" in text
        ):
            read_only = True
        elif code == _PG_DISK_FULL or sqlite_name == "SQLITE_FULL" or (
            "database or disk is full" in text or "no space left on device" in text
        ):
            full = True
        elif (
            code.startswith(_PG_UNAVAILABLE_PREFIXES)
            or sqlite_name.startswith(_SQLITE_UNAVAILABLE)
            or isinstance(cause, OSError | sqlalchemy.exc.TimeoutError)
            or getattr(cause, "connection_invalidated", False)
            or type(cause).__name__ in {"InterfaceError", "ConnectionDoesNotExistError",
                                        "InternalClientError", "ConnectionFailureError"}
        ):
            unavailable = True
    if read_only:
        return Unavailable(
            "Cơ sở dữ liệu đang ở chế độ chỉ đọc; chưa thể ghi dữ liệu, hãy thử lại sau.",
            "The database is read-only; writes are not possible now, retry later.",
            reason="read-only",
        )
    if full:
        return InsufficientStorage(
            "Cơ sở dữ liệu đã hết dung lượng lưu trữ; lô dữ liệu không được ghi, "
            "hãy thử lại sau.",
            "The database storage is full; the batch was not written, retry later.",
            reason="storage-full",
        )
    if unavailable:
        return Unavailable(
            "Không kết nối được cơ sở dữ liệu; hãy thử lại sau ít giây.",
            "The database is unreachable; retry in a few seconds.",
            reason="database-unavailable",
        )
    return None


async def _database_error(request: Request, exc: Exception) -> ProblemJSON:
    mapped = database_unavailable(exc)
    if mapped is None:
        return await _unexpected(request, exc)
    log.warning("database_unavailable", error_type=type(exc).__name__,
                reason=mapped.extra.get("reason"), error=str(exc).splitlines()[0][:300])
    return problem_for(request, mapped, headers={"Retry-After": RETRY_AFTER_SECONDS})


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HubError, _hub_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Database failures raise driver or SQLAlchemy errors (not HubError) from anywhere below
    # a route: mapped here, in one place, to 503 / 507 with Retry-After.
    for database_error in _database_error_types():
        app.add_exception_handler(database_error, _database_error)
    app.add_exception_handler(Exception, _unexpected)


def _database_error_types() -> list[type[Exception]]:
    types: list[type[Exception]] = [sqlalchemy.exc.SQLAlchemyError, OSError]
    try:
        import asyncpg
    except ImportError:  # SQLite-only installs
        return types
    return [*types, asyncpg.PostgresError, asyncpg.InterfaceError]
