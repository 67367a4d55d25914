"""UTF-8 JSON responses through orjson: Vietnamese text is not \\u-escaped, and encoding is
several times faster than the standard library on the hot read paths."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class ProblemJSON(JSON):
    media_type = "application/problem+json"
