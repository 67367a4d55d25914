"""Opaque keyset cursors: pure helpers that know nothing of requests."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from hub._errors import InvalidInput

# Cursor values are compared with 64-bit columns; a larger one would overflow in the driver.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, *, length: int) -> list[Any]:
    """Decode a cursor made by :func:`encode_cursor`; anything else is a clear 400."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeEncodeError, orjson.JSONDecodeError):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != length
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and INT64_MIN <= v <= INT64_MAX
            for v in values
        )
    ):
        raise InvalidInput(
            "Con trỏ phân trang (cursor) không hợp lệ; hãy dùng giá trị next_cursor hub trả về.",
            "Invalid pagination cursor; use the next_cursor value the hub returned.",
        )
    return values
