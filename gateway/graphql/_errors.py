"""GraphQL errors in the hub's conventions: every error a caller can cause says what went wrong
in Vietnamese and English (``extensions``), with the same problem type as REST; anything
unexpected is logged and, in production, masked.

Hub errors raised by resolvers (``hub.HubError``: bad cursor, unknown agency, missing scope...)
keep their message; so do the refusals of the document limits (depth, aliases, tokens), which
get a Vietnamese text and a stable code here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import structlog
from graphql import GraphQLError

from gateway.http._problems import PROBLEM_BASE, database_unavailable
from hub import HubError

log = structlog.get_logger("rightshub.graphql")

# Strawberry's and graphql-core's refusal messages -> (code, Vietnamese text).
_LIMITS: list[tuple[re.Pattern[str], str, Callable[[re.Match[str]], str]]] = [
    (re.compile(r"exceeds maximum operation depth of (\d+)"), "query-too-deep",
     lambda m: f"Truy vấn lồng quá sâu: tối đa {m.group(1)} mức."),
    (re.compile(r"(\d+) aliases found\. Allowed: (\d+)"), "too-many-aliases",
     lambda m: f"Truy vấn có {m.group(1)} bí danh (alias); tối đa {m.group(2)}."),
    (re.compile(r"Document contains more than (\d+) tokens"), "too-many-tokens",
     lambda m: f"Truy vấn quá dài: tối đa {m.group(1)} token."),
    (re.compile(r"introspection", re.IGNORECASE), "introspection-disabled",
     lambda m: "Truy vấn introspection bị tắt trên máy chủ này."),
    # The document's own mistakes (graphql-core's parse and validation messages).
    (re.compile(r"^Syntax Error: (.*)$", re.S), "syntax-error",
     lambda m: f"Lỗi cú pháp GraphQL: {m.group(1)}"),
    (re.compile(r"^Cannot query field '([^']+)' on type '([^']+)'"), "unknown-field",
     lambda m: f"Kiểu '{m.group(2)}' không có trường '{m.group(1)}'."),
    (re.compile(r"^Unknown argument '([^']+)' on field '([^']+)'"), "unknown-argument",
     lambda m: f"Trường '{m.group(2)}' không có tham số '{m.group(1)}'."),
    (re.compile(r"^Unknown type '([^']+)'"), "unknown-type",
     lambda m: f"Không có kiểu '{m.group(1)}'."),
    (re.compile(r"^Field '([^']+)' argument '([^']+)' of type '([^']+)' is required"),
     "missing-argument",
     lambda m: f"Trường '{m.group(1)}' thiếu tham số bắt buộc '{m.group(2)}' ({m.group(3)})."),
    (re.compile(r"^Variable '\$([^']+)' of required type '([^']+)' was not provided"),
     "missing-variable",
     lambda m: f"Thiếu biến bắt buộc '${m.group(1)}' (kiểu {m.group(2)})."),
    (re.compile(r"^Variable '\$([^']+)' (?:got|has) invalid value: (.*)$", re.S),
     "invalid-variable",
     lambda m: f"Biến '${m.group(1)}' có giá trị không hợp lệ: {m.group(2)}"),
    (re.compile(r"^Field '([^']+)' of type '([^']+)' must have a selection of subfields"),
     "selection-required",
     lambda m: f"Trường '{m.group(1)}' (kiểu {m.group(2)}) cần liệt kê các trường con."),
    (re.compile(r"^Unknown operation named '([^']+)'"), "unknown-operation",
     lambda m: f"Không có thao tác tên '{m.group(1)}' trong tài liệu."),
]


def _hub_error(error: GraphQLError) -> HubError | None:
    """The hub error behind a GraphQL error: raised by a resolver, or a database outage
    mapped as REST maps it (503 ``database-unavailable``, read-only, storage full)."""
    original = error.original_error
    if isinstance(original, HubError):
        return original
    if original is not None and not isinstance(original, GraphQLError):
        return database_unavailable(original)
    return None


def is_unexpected(error: GraphQLError) -> bool:
    """Raised while resolving a field, and neither a hub error nor a database outage: a bug."""
    return (
        error.original_error is not None
        and error.path is not None
        and not isinstance(error.original_error, GraphQLError)
        and _hub_error(error) is None
    )


def _hub_extensions(error: HubError) -> dict[str, Any]:
    extensions: dict[str, Any] = {
        "code": error.type_slug,
        "type": PROBLEM_BASE + error.type_slug,
        "status": error.status,
        "title_vi": error.title_vi,
        "title_en": error.title_en,
        "detail_vi": error.detail_vi,
        "detail_en": error.detail_en,
    }
    extensions.update({k: v for k, v in error.extra.items() if k != "retry_after"})
    return extensions


def describe_errors(errors: list[GraphQLError], *, english: bool) -> None:
    """Fill in ``message`` (Vietnamese unless the caller prefers English) and ``extensions``
    of the errors callers cause. Called by the view on the final result, so it also sees the
    errors that stop a document before execution (parse and validation)."""
    for error in errors:
        hub_error = _hub_error(error)
        if hub_error is not None:
            error.message = hub_error.detail_en if english else hub_error.detail_vi
            error.extensions = _hub_extensions(hub_error)
            continue
        if error.extensions:
            continue
        for pattern, code, vietnamese in _LIMITS:
            found = pattern.search(error.message)
            if found:
                error.extensions = {
                    "code": code, "detail_vi": vietnamese(found), "detail_en": error.message,
                }
                if not english:
                    error.message = vietnamese(found)
                break
        else:
            if error.path is None and (error.original_error is None
                                       or isinstance(error.original_error, GraphQLError)):
                # Any other refusal of the document itself (before execution): both languages.
                detail_vi = f"Tài liệu GraphQL không hợp lệ: {error.message}"
                error.extensions = {"code": "invalid-document", "detail_vi": detail_vi,
                                    "detail_en": error.message}
                if not english:
                    error.message = detail_vi


def log_errors(errors: list[GraphQLError]) -> None:
    """Only unexpected errors are worth a log line; callers' mistakes are answered."""
    for error in errors:
        if is_unexpected(error):
            original = error.original_error
            log.error("graphql_field_failed", path=error.path,
                      error_type=type(original).__name__, exc_info=original)
