"""JSON bodies with duplicate object keys refused (RFC 8259 §4: names SHOULD be unique; most
parsers, orjson among them, keep the last one silently, so ``{"records": [A], "records": [B]}``
would drop A without a word).

orjson parses first: it is the hub's parser (strict UTF-8, no NaN, no lone surrogates, bounded
depth) and its errors are the ones callers get. Only a body orjson accepted is scanned again by
the standard library's C scanner, with an ``object_pairs_hook`` that sees every member before
any is dropped: the hook is the one place a duplicate is visible. Names are compared after
unescaping (``"a"`` and ``"\\u0061"`` are the same name). On a 1,000-record batch (284 KB) the
scan adds about 1.9 ms to orjson's 0.65 ms (see docs/benchmarks.md, "Duplicate JSON keys").
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


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """``orjson.loads``, refusing duplicate keys (:class:`StrictJSONError`, a ``ValueError``;
    orjson's own ``JSONDecodeError`` for what is not JSON)."""
    value = orjson.loads(data)
    if isinstance(value, dict | list):
        check_unique_keys(data)
    return value


def refused(error: StrictJSONError) -> InvalidInput:
    """The 400 problem of a body refused for ``error``."""
    return InvalidInput(f"Nội dung JSON bị từ chối: {error.message_vi}.",
                        f"The JSON body is refused: {error.message_en}.")
