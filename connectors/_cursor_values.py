"""Replication-key values compared as what they are, not as text (issue 24 item 10).

An agency writes its update times its own way ("31/12/2025 23:59:59" sorts after
"01/01/2026 00:00:00" as text); the stream's ``incremental.cursor_format`` names the way, and
:func:`cursor_sort_key` turns a raw value into something that orders like time. Local times
(without an offset) are read in the connector's ``timezone``. The raw text is what goes back
to the agency as the since parameter, so only comparisons use the parsed value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from connectors._mapping import DATE_FORMATS

# Date formats of mappings, each also with a time of day (seconds, or minutes only).
CURSOR_FORMATS: dict[str, str] = {
    **DATE_FORMATS,
    **{f"{name} HH:MM:SS": f"{fmt} %H:%M:%S" for name, fmt in DATE_FORMATS.items()},
    **{f"{name} HH:MM": f"{fmt} %H:%M" for name, fmt in DATE_FORMATS.items()},
}
# "iso": ISO 8601 (the default); "number": an integer or decimal (a version counter);
# "text": compared as text (only for keys that really sort as text).
SPECIAL_FORMATS = ("iso", "number", "text")


class BadCursorValue(ValueError):
    """A replication-key value that does not fit the declared format."""


def cursor_sort_key(value: Any, fmt: str, timezone: str) -> Any:
    """A value that orders like the key: an aware datetime, a number, or the text."""
    if fmt == "text":
        return str(value)
    if fmt == "number":
        if isinstance(value, bool):
            raise BadCursorValue(repr(value))
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            raise BadCursorValue(repr(value)) from None
    if not isinstance(value, str):
        raise BadCursorValue(repr(value))
    text = value.strip()
    try:
        if fmt == "iso":
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            parsed = datetime.strptime(text, CURSOR_FORMATS[fmt])
    except (ValueError, KeyError):
        raise BadCursorValue(repr(value)) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed.astimezone(UTC)


def check_cursor_format(fmt: str) -> str:
    if fmt not in CURSOR_FORMATS and fmt not in SPECIAL_FORMATS:
        raise ValueError(f"cursor_format must be one of {', '.join(SPECIAL_FORMATS)} or "
                         f"{', '.join(CURSOR_FORMATS)}")
    return fmt
