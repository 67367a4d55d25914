"""Routes whose JSON body FastAPI validates (the admin API): the body is parsed once, by
orjson, and a body repeating a key in an object is refused with a 400 problem
(``hub._json_strict``) before FastAPI's own ``json.loads`` would keep the last one silently.
What is not JSON at all is left to FastAPI, which answers it (``json_invalid``) as before."""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from hub import strict_json as json_strict


def _is_json(content_type: str | None) -> bool:
    # As FastAPI decides to parse a body as JSON: no Content-Type, or application/*json.
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json"))


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH") and _is_json(
                    request.headers.get("content-type")):
                body = await request.body()
                if body:
                    try:
                        # Starlette's Request.json() returns this instead of parsing again.
                        request._json = json_strict.loads(body)
                    except orjson.JSONDecodeError:
                        pass
                    except json_strict.StrictJSONError as error:
                        raise json_strict.refused(error) from None
            return await handler(request)

        return strict_handler
