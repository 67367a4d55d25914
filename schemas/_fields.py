"""Reusable constrained field types for record content models."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    HttpUrl,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from ._text import CONTROL_CHARACTERS, nfc

MIN_YEAR = 1945
MAX_YEAR = 2100
MAX_LIST = 200


def custom_error(code: str, message_en: str, message_vi: str) -> PydanticCustomError:
    """A pydantic error carrying its own Vietnamese message (read by `_problems`)."""
    return PydanticCustomError(code, message_en, {"message_vi": message_vi})


def is_number(text: str) -> bool:
    """Whether `text` reads as a number ("0", "12.5", "1e9", " 7 "): what pydantic's lax date
    and time parsing would take as a Unix time."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def refuse_unix_time(value: Any, code: str, message_en: str, message_vi: str, *,
                     strict: type | None = None) -> Any:
    """Before-validator body for an ISO 8601 date or time field. Pydantic reads a number, or a
    string holding one, as a Unix time (0 is 1970-01-01); that is refused with the given error
    rather than silently converted. Without `strict` (lax models: record content) any other
    value is left to pydantic; with it (strict bodies) a value already of that type passes and
    anything else that is not a string is refused too."""
    if strict is not None and isinstance(value, strict):
        return value
    if strict is not None and not isinstance(value, str):
        raise custom_error(code, message_en, message_vi)
    if isinstance(value, int | float) or (isinstance(value, str) and is_number(value)):
        raise custom_error(code, message_en, message_vi)
    return value


def _nfc_if_str(value: Any) -> Any:
    return nfc(value) if isinstance(value, str) else value


def _upper_if_str(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


SourceId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=rf"^[^\s{CONTROL_CHARACTERS}]+$"),
    BeforeValidator(_nfc_if_str),
]
"""The agency's own record id: 1-200 characters, no whitespace or control characters."""

Code = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
]
"""A vocabulary code (lower-case ASCII letters, digits, `_` and `-`)."""

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")]
"""An ISO 639-3 language code."""

CountryCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2}$"), BeforeValidator(_upper_if_str)
]
"""An ISO 3166-1 alpha-2 country code (upper-cased on input)."""

ProvinceCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
"""A 2-digit provincial administrative code (Decision 19/2025/QĐ-TTg)."""

Year = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]
Count = Annotated[int, Field(ge=0)]
Vnd = Annotated[int, Field(ge=0)]


def _number(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise custom_error("number_type", "Must be a number", "Phải là một số")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise custom_error("number_type", "Must be a number", "Phải là một số") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise custom_error("finite_number", "Must be a finite number", "Phải là một số hữu hạn")
    return value


Number = Annotated[int | float, PlainValidator(_number), WithJsonSchema({"type": "number"})]
"""A finite int or float (ints stay ints, so `5` and `5.0` are stored as sent)."""

_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _http_url(value: str) -> str:
    try:
        return str(_HTTP_URL.validate_python(value))
    except ValidationError:
        raise custom_error(
            "url_invalid",
            "Must be a valid URL starting with http:// or https://",
            "Phải là địa chỉ URL hợp lệ bắt đầu bằng http:// hoặc https://",
        ) from None


Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    AfterValidator(_http_url),
    WithJsonSchema({"type": "string", "format": "uri", "maxLength": 2000, "pattern": "^https?://"}),
]
"""An http(s) URL, stored in pydantic's normalised form."""


def isbn_is_valid(digits: str) -> bool:
    """Check an ISBN-10 or ISBN-13 checksum (`digits` without hyphens or spaces)."""
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
        values = [int(c) for c in digits[:9]] + [10 if digits[9] == "X" else int(digits[9])]
        return sum((10 - i) * v for i, v in enumerate(values)) % 11 == 0
    if len(digits) == 13 and digits.isdigit():
        return sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits)) % 10 == 0
    return False


def _isbn(value: str) -> str:
    digits = value.replace("-", "").replace(" ", "").upper()
    if digits.startswith("ISBN"):
        digits = digits[4:].lstrip(":")
    if not isbn_is_valid(digits):
        raise custom_error(
            "isbn_invalid",
            "Must be a valid ISBN-10 or ISBN-13 (check digit does not match)",
            "Phải là mã ISBN-10 hoặc ISBN-13 hợp lệ (số kiểm tra không khớp)",
        )
    return digits


Isbn = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(_isbn),
]
"""An ISBN-10/13 with a valid check digit, stored without hyphens."""


_MONEY_SUFFIX = re.compile(r"\s*(?:vnđ|vnd|đồng|dong|đ|₫)\.?$")
# Whole dong: digits, or groups of three after one kind of separator (dot, comma or space).
_MONEY = re.compile(r"^\d+$|^\d{1,3}(?P<sep>[., \u00a0])\d{3}(?:(?P=sep)\d{3})*$")

def parse_vnd(value: Any) -> int:
    """Whole dong from "1.250.000", "1,250,000", "1250000", "1.250.000 đ", "1.250.000 VNĐ"
    or a JSON integer. The dong has no subunit in use, so a three-digit group after one
    separator is thousands ("250.000" is 250000), and anything with a fraction ("1.250,50",
    "12,5"), mixed separators ("1.250,000") or a sign is refused: ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(value)
        return value
    if isinstance(value, float):
        if value < 0 or not value.is_integer():
            raise ValueError(value)
        return int(value)
    if not isinstance(value, str):
        raise ValueError(value)
    text = _MONEY_SUFFIX.sub("", unicodedata.normalize("NFC", value).strip().casefold())
    if not _MONEY.match(text):
        raise ValueError(value)
    return int(re.sub(r"\D", "", text))
