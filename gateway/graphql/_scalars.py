"""Custom scalars. Values are passed through as stored: dates are already ISO 8601 strings in
a record's ``data``, timestamps are ``datetime`` objects that the response encoder (orjson)
writes as RFC 3339. Serialising nothing per value keeps the per-field cost down."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

Date = NewType("Date", str)
DateTime = NewType("DateTime", str)
JSON = NewType("JSON", object)
Long = NewType("Long", int)


def _out_date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _in_date(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("Date must be an ISO 8601 string (YYYY-MM-DD)")
    return date.fromisoformat(value)


def _in_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string")
    return datetime.fromisoformat(value)


def _in_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**63:
        raise ValueError("Long must be an integer within 64 bits")
    return value


def _identity(value: Any) -> Any:
    return value


SCALARS: dict[object, ScalarDefinition] = {
    Date: strawberry.scalar(
        name="Date", description="A calendar date, ISO 8601 (YYYY-MM-DD).",
        serialize=_out_date, parse_value=_in_date,
    ),
    DateTime: strawberry.scalar(
        name="DateTime", description="A point in time, ISO 8601 / RFC 3339, in UTC.",
        serialize=_identity, parse_value=_in_datetime,
    ),
    JSON: strawberry.scalar(
        name="JSON", description="Any JSON value (objects keyed by vocabulary codes).",
        serialize=_identity, parse_value=_identity,
    ),
    Long: strawberry.scalar(
        name="Long", description="A 64-bit integer (VND amounts, counts).",
        serialize=_identity, parse_value=_in_long,
    ),
}
