"""Bilingual (Vietnamese / English) field problems, translated from pydantic errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ._records import HUB_OWNED_FIELDS
from ._text import nfc

MAX_SHOWN = 80


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field. `path` joins the location with dots (`themes.2`), "" = record."""

    path: str
    code: str
    message_vi: str
    message_en: str


def shorten(value: object, limit: int = MAX_SHOWN) -> str:
    """`value` as text, cut to `limit` characters (never echo huge input)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def join_path(loc: tuple[int | str, ...]) -> str:
    """`("links", 1, "url")` -> `"links.1.url"` (each part cut to 80 characters)."""
    return ".".join(shorten(str(part)) for part in loc)


_NOT_DATE = ("Phải là ngày hợp lệ theo định dạng YYYY-MM-DD",
             "Must be a valid date in YYYY-MM-DD format")
_NOT_INT = ("Phải là số nguyên", "Must be an integer")
_NOT_NUMBER = ("Phải là một số", "Must be a number")
_NOT_BOOL = ("Phải là giá trị đúng/sai (true/false)", "Must be a boolean (true/false)")
_NOT_URL = ("Phải là địa chỉ URL hợp lệ bắt đầu bằng http:// hoặc https://",
            "Must be a valid URL starting with http:// or https://")
_NOT_OBJECT = ("Phải là một đối tượng JSON (object)", "Must be a JSON object")
_NOT_DATETIME = ("Phải là thời điểm hợp lệ theo ISO 8601", "Must be a valid ISO 8601 date-time")

# pydantic error type -> (vi, en); `{name}` placeholders are filled from the error's ctx.
_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("Thiếu trường bắt buộc", "Field required"),
    "string_type": ("Phải là chuỗi ký tự", "Must be a string"),
    "string_too_short": ("Phải có ít nhất {min_length} ký tự", "Must have at least {min_length} "
                         "character(s)"),
    "string_too_long": ("Không được dài quá {max_length} ký tự",
                        "Must be at most {max_length} characters long"),
    "string_pattern_mismatch": ("Định dạng không hợp lệ (không được chứa khoảng trắng, ký tự "
                                "điều khiển hoặc ký tự không cho phép)",
                                "Invalid format (no whitespace, control or disallowed characters)"),
    "string_unicode": ("Phải là chuỗi Unicode hợp lệ", "Must be a valid Unicode string"),
    "int_parsing": _NOT_INT,
    "int_type": _NOT_INT,
    "int_from_float": ("Phải là số nguyên (không có phần thập phân)",
                       "Must be a whole number (no fractional part)"),
    "float_parsing": _NOT_NUMBER,
    "float_type": _NOT_NUMBER,
    "finite_number": ("Phải là một số hữu hạn", "Must be a finite number"),
    "date_parsing": _NOT_DATE,
    "date_type": _NOT_DATE,
    "date_from_datetime_parsing": _NOT_DATE,
    "date_from_datetime_inexact": ("Phải là một ngày, không kèm giờ",
                                   "Must be a date without a time of day"),
    "datetime_parsing": _NOT_DATETIME,
    "datetime_type": _NOT_DATETIME,
    "datetime_from_date_parsing": _NOT_DATETIME,
    "greater_than_equal": ("Phải lớn hơn hoặc bằng {ge}", "Must be greater than or equal to {ge}"),
    "greater_than": ("Phải lớn hơn {gt}", "Must be greater than {gt}"),
    "less_than_equal": ("Phải nhỏ hơn hoặc bằng {le}", "Must be less than or equal to {le}"),
    "less_than": ("Phải nhỏ hơn {lt}", "Must be less than {lt}"),
    "literal_error": ("Phải là một trong các giá trị: {expected}",
                      "Must be one of: {expected}"),
    "enum": ("Phải là một trong các giá trị: {expected}", "Must be one of: {expected}"),
    "list_type": ("Phải là một danh sách (mảng JSON)", "Must be a list (JSON array)"),
    "too_long": ("Không được có quá {max_length} phần tử", "Must have at most {max_length} items"),
    "too_short": ("Phải có ít nhất {min_length} phần tử", "Must have at least {min_length} items"),
    "dict_type": _NOT_OBJECT,
    "model_type": _NOT_OBJECT,
    "model_attributes_type": _NOT_OBJECT,
    "bool_parsing": _NOT_BOOL,
    "bool_type": _NOT_BOOL,
    "url_parsing": _NOT_URL,
    "url_scheme": _NOT_URL,
    "url_type": _NOT_URL,
    "url_syntax_violation": _NOT_URL,
    "url_too_long": ("Địa chỉ URL quá dài", "URL is too long"),
    "uuid_parsing": ("Phải là UUID hợp lệ", "Must be a valid UUID"),
    "uuid_type": ("Phải là UUID hợp lệ", "Must be a valid UUID"),
    "json_invalid": ("JSON không hợp lệ", "Invalid JSON"),
    "json_type": ("JSON không hợp lệ", "Invalid JSON"),
}


def _fill(template: str, ctx: Mapping[str, Any], *, vi: bool) -> str:
    values: dict[str, object] = {
        key: val if isinstance(val, int | float) else shorten(val) for key, val in ctx.items()
    }
    expected = values.get("expected")
    if vi and isinstance(expected, str):
        values["expected"] = expected.replace(" or ", " hoặc ")
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def problem_from_error(error: ErrorDetails) -> FieldProblem:
    """Translate one pydantic error into a `FieldProblem`."""
    loc = tuple(error["loc"])
    path = join_path(loc)
    code = error["type"]
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if code == "extra_forbidden":
        field = shorten(loc[-1] if loc else "")
        if len(loc) == 1 and loc[0] in HUB_OWNED_FIELDS:
            return FieldProblem(
                path, "hub_owned_field",
                f"Trường '{field}' do hệ thống (hub) quản lý, cơ quan không được gửi trường này",
                f"Field '{field}' is owned by the hub and must not be sent",
            )
        return FieldProblem(
            path, code,
            f"Trường '{field}' không được phép (không có trong chuẩn dữ liệu)",
            f"Field '{field}' is not allowed (not in the data standard)",
        )
    if isinstance(ctx.get("message_vi"), str):  # our own PydanticCustomError
        return FieldProblem(path, code, nfc(ctx["message_vi"]), error["msg"])
    if code in _MESSAGES:
        vi, en = _MESSAGES[code]
        if code in ("too_short", "too_long") and not isinstance(
            error.get("input"), list | tuple | set | frozenset | dict
        ):
            # pydantic reports a SecretStr's length (a password) as a collection's: the
            # words are a string's (characters, not items); the code stays pydantic's.
            vi, en = _MESSAGES[f"string_{code}"]
        return FieldProblem(path, code, nfc(_fill(vi, ctx, vi=True)), _fill(en, ctx, vi=False))
    msg = shorten(error["msg"], 200)
    if code == "value_error":
        return FieldProblem(path, code, f"Giá trị không hợp lệ: {msg}", msg)
    return FieldProblem(path, code, f"Giá trị không hợp lệ ({msg})", f"Invalid value: {msg}")


def problems_from_validation_error(exc: ValidationError) -> list[FieldProblem]:
    """All problems of a pydantic `ValidationError`, in pydantic's order."""
    return [problem_from_error(err) for err in exc.errors(include_url=False)]
