"""Typed, bounded request parameters shared by routers.

Control characters are refused at the edge: PostgreSQL cannot store NUL in text, and no
legitimate code or search text contains one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Header, Path, Query
from pydantic import BeforeValidator

from schemas import CONTROL_CHARACTERS, is_number

SAFE_TEXT = rf"^[^{CONTROL_CHARACTERS}]+$"
SOURCE_ID = rf"^[^\s{CONTROL_CHARACTERS}]+$"  # as schemas.SourceId: no whitespace at all
CODE = r"^[A-Za-z0-9._-]+$"

SourceIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        pattern=SOURCE_ID,
        description="The agency's own id of the record (no spaces or control characters).",
    ),
]
AgencyCode = Annotated[
    str | None,
    Query(max_length=40, pattern=CODE, description="Agency code, e.g. G16 or 08."),
]
VocabCode = Annotated[str | None, Query(max_length=60, pattern=CODE)]
SearchText = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        pattern=SAFE_TEXT,
        description="Full-text search that ignores Vietnamese diacritics; exact matches first.",
    ),
]
Cursor = Annotated[
    str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_-]+$", description="next_cursor")
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7E]+$",
        description="Makes a retried batch return the first answer and write nothing twice.",
    ),
]
IfMatchHeader = Annotated[
    str | None,
    Header(alias="If-Match", max_length=500, pattern=r"^[\x20-\x7E]+$"),
]
IfNoneMatchHeader = Annotated[
    str | None,
    Header(alias="If-None-Match", max_length=500, pattern=r"^[\x20-\x7E]+$"),
]


def _iso_not_number(value: Any) -> Any:
    """Pydantic reads a number as a Unix time ("0" is 1970-01-01); the API documents ISO 8601
    dates (RFC 3339 ``date`` / ``date-time``), so a bare number is refused with 400."""
    if isinstance(value, str) and is_number(value):
        raise ValueError("expected an ISO 8601 date or date-time, not a number")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_not_number)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_not_number)]
