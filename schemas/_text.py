"""Vietnamese text normalisation and the constrained text types used by every record field."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

__all__ = ["CONTROL_CHARACTERS", "TEXT_CONTROL", "LongText", "ShortText", "Text", "fold", "nfc"]

SHORT_TEXT_MAX = 500
LONG_TEXT_MAX = 20_000

# The characters refused in one-line input (search text, codes, query parameters): every C0
# control and DEL, written as the inside of a regular-expression class.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f"
# Refused in stored text: the same, less TAB, LF and CR (descriptions have lines).
TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def nfc(s: str) -> str:
    """Return `s` in Unicode Normalisation Form C (how the hub stores all text)."""
    return unicodedata.normalize("NFC", s)


def _fold_word(word: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))
    bare = bare.replace("đ", "d").replace("Đ", "D").casefold()
    # casefold can produce new decomposable characters; strip them once more.
    return "".join(c for c in unicodedata.normalize("NFD", bare) if not unicodedata.combining(c))


# Vietnamese is written in a few thousand distinct syllables: folding each distinct word once
# and looking it up afterwards is several times faster than folding every character again.
_FOLDED: dict[str, str] = {}
_FOLDED_MAX = 50_000
# Identifiers (ISBNs, document numbers, dates) rarely repeat: caching them would only grow the
# cache by one entry a record (bench/memory), so words with digits are folded every time.
_HAS_DIGIT = re.compile(r"\d")


def fold(s: str) -> str:
    """Fold text for diacritic-insensitive search: "Đắk Lắk" -> "dak lak"."""
    out = []
    for word in s.split():
        folded = _FOLDED.get(word)
        if folded is None:
            folded = _fold_word(word)
            if len(_FOLDED) < _FOLDED_MAX and not _HAS_DIGIT.search(word):
                _FOLDED[word] = folded
        if folded:
            out.append(folded)
    return " ".join(out)


def _clean_text(value: Any) -> Any:
    """NFC-normalise and strip a string; reject control characters. Non-strings pass through
    so that pydantic reports its own `string_type` error."""
    if not isinstance(value, str):
        return value
    value = nfc(value).strip()
    if TEXT_CONTROL.search(value):
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
