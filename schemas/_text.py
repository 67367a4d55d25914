"""Vietnamese text normalisation and the constrained text types used by every record field."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

__all__ = ["LongText", "ShortText", "Text", "fold", "nfc"]

SHORT_TEXT_MAX = 500
LONG_TEXT_MAX = 20_000

# C0 controls except TAB, LF, CR; plus DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")


def nfc(s: str) -> str:
    """Return `s` in Unicode Normalisation Form C (how the hub stores all text)."""
    return unicodedata.normalize("NFC", s)


def fold(s: str) -> str:
    """Fold text for diacritic-insensitive search: "Đắk Lắk" -> "dak lak"."""
    decomposed = unicodedata.normalize("NFD", s)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.replace("đ", "d").replace("Đ", "D").casefold()
    # casefold can produce new decomposable characters; normalise once more.
    bare = unicodedata.normalize("NFD", bare)
    bare = "".join(ch for ch in bare if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare).strip()


def _clean_text(value: Any) -> Any:
    """NFC-normalise and strip a string; reject control characters. Non-strings pass through
    so that pydantic reports its own `string_type` error."""
    if not isinstance(value, str):
        return value
    value = nfc(value).strip()
    if _CONTROL.search(value):
        raise PydanticCustomError(
            "control_character",
            "Text must not contain NUL or other control characters",
            {"message_vi": "Văn bản không được chứa ký tự NUL hoặc ký tự điều khiển khác"},
        )
    return value


Text = Annotated[str, BeforeValidator(_clean_text)]
"""Free text: NFC, stripped, no control characters except tab, newline and carriage return."""

# Constraints come before the validator so they apply to the str schema (after cleaning) and
# report pydantic's `string_too_long` / `string_too_short` errors.
ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=SHORT_TEXT_MAX), BeforeValidator(_clean_text)
]
"""Text of 1-500 characters (titles, names, labels)."""
LongText = Annotated[str, StringConstraints(max_length=LONG_TEXT_MAX), BeforeValidator(_clean_text)]
"""Text of up to 20,000 characters (descriptions)."""
