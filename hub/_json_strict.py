"""JSON bodies with duplicate object keys refused (RFC 8259 §4: names SHOULD be unique; most
parsers, orjson among them, keep the last one silently, so ``{"records": [A], "records": [B]}``
would drop A without a word). Names compare after unescaping (``"a"`` and ``"\\u0061"`` are one
name).

orjson parses, as before: it is the hub's parser (strict UTF-8, no NaN, no lone surrogates,
bounded depth) and its errors are the ones callers get. Whether an object lost a member is then
decided by counting colons, which is exact and costs about a third of orjson's parse:

* in JSON text, a ``:`` outside strings is a name separator, one per member; inside strings it
  is content. So ``text.count(":")`` is members + colons in the text's strings, and
  ``orjson.dumps(value).count(":")`` is members kept + colons in the strings kept (orjson escapes
  only ``"``, ``\\`` and control characters: it neither adds nor hides a colon).
* When the text holds no escaped colon (``\\u003a``), each colon in a decoded string is a colon
  of the text; a duplicate drops a member (and maybe strings), so the counts are equal exactly
  when no object repeated a name.

Only when the counts differ, or the text escapes a colon, or the value is too deep for
``orjson.dumps``, is the text scanned again by the standard library's C scanner with an
``object_pairs_hook`` that sees every member (and names the duplicate). Figures:
docs/benchmarks.md, "Duplicate JSON keys".
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from hub._errors import InvalidInput


class StrictJSONError(ValueError):
    """JSON that orjson accepted but the hub refuses; ``message_vi`` / ``message_en`` say why
    (a sentence without a final period, to be prefixed or completed by the caller)."""

    message_vi: str
    message_en: str


class DuplicateKey(StrictJSONError):
    """An object of the document names ``key`` twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key
        shown = key if len(key) <= 80 else key[:79] + "…"
        self.message_vi = (f'khóa trùng lặp "{shown}" trong cùng một đối tượng JSON (mỗi khóa '
                           "chỉ được có một lần)")
        self.message_en = (f'duplicate JSON key "{shown}" in one object (each key may appear '
                           "only once)")


class TooDeep(StrictJSONError):
    def __init__(self) -> None:
        super().__init__("nested too deep")
        self.message_vi = "JSON lồng quá sâu"
        self.message_en = "JSON nested too deep"


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return result


_SCANNER = json.JSONDecoder(object_pairs_hook=_pairs)


def check_unique_keys(data: bytes | bytearray | memoryview | str) -> None:
    """Raise :class:`DuplicateKey` when an object of ``data`` (JSON orjson accepted) repeats a
    name. Bodies without an object are not scanned."""
    if isinstance(data, memoryview | bytearray):
        data = bytes(data)
    if isinstance(data, bytes):
        if b"{" not in data:
            return
        text = data.decode("utf-8")
    else:
        if "{" not in data:
            return
        text = data
    try:
        _SCANNER.decode(text)
    except RecursionError:  # orjson's depth limit (1024) is above the C scanner's
        raise TooDeep() from None


_ESCAPED_COLON = (b"\\u003a", b"\\u003A")
_ESCAPED_COLON_TEXT = ("\\u003a", "\\u003A")


def _members_kept(data: bytes | str, value: Any) -> bool:
    """True when no object of ``data`` (parsed as ``value``) lost a member: see the module's
    docstring. False when one did, or when this cannot tell (the caller scans)."""
    try:
        dumped = orjson.dumps(value)
    except orjson.JSONEncodeError:  # deeper than orjson.dumps goes (255 levels)
        return False
    if isinstance(data, bytes):
        if b"\\" in data and any(e in data for e in _ESCAPED_COLON):
            return False
        return data.count(b":") == dumped.count(b":")
    if "\\" in data and any(e in data for e in _ESCAPED_COLON_TEXT):
        return False
    return data.count(":") == dumped.count(b":")


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """``orjson.loads``, refusing duplicate keys (:class:`StrictJSONError`, a ``ValueError``;
    orjson's own ``JSONDecodeError`` for what is not JSON)."""
    value = orjson.loads(data)
    if isinstance(value, dict | list):
        text = bytes(data) if isinstance(data, memoryview | bytearray) else data
        if not _members_kept(text, value):
            check_unique_keys(text)
    return value


def refused(error: StrictJSONError) -> InvalidInput:
    """The 400 problem of a body refused for ``error``."""
    return InvalidInput(f"Nội dung JSON bị từ chối: {error.message_vi}.",
                        f"The JSON body is refused: {error.message_en}.")
