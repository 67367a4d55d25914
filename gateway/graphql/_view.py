"""The HTTP face of GraphQL: Strawberry's ASGI view, with the hub's authentication, per-client
rate limit and problem details in front of it, and UTF-8 JSON out.

* The caller is authenticated by ``gateway.deps.authenticate`` (the one place that decides:
  OAuth2 access token, API key, development token) before anything executes; a missing or bad
  credential is a 401 problem, as in REST. Scopes are checked per root field (``_schema``).
* Responses are encoded with orjson: Vietnamese text stays UTF-8 (Strawberry's default
  escapes every non-ASCII character) and timestamps need no conversion per value.
* A caller with neither ``records:read`` nor ``records:write`` gets 403 before anything runs.
* The GraphiQL page (a browser's GET asking for HTML) needs no token; off in production.
"""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException, StarletteRequestAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from auth import RECORDS_READ, RECORDS_WRITE, require_scope
from gateway._docs import AssetsMissing, offline_graphiql
from gateway.deps import authenticate
from gateway.graphql._context import Context
from gateway.graphql._errors import describe_errors
from gateway.graphql._prepared import execute_prepared
from gateway.graphql._schema import build_schema
from gateway.http._problems import (
    RETRY_AFTER_SECONDS,
    database_unavailable,
    prefers_english,
    problem,
    problem_for,
)
from hub import HubError, Settings
from hub import strict_json as json_strict

_HTTP_SLUGS = {
    400: ("invalid-input", "Yêu cầu GraphQL không hợp lệ", "Invalid GraphQL request"),
    404: ("not-found", "Không tìm thấy", "Not found"),
    405: ("method-not-allowed", "Phương thức không được hỗ trợ", "Method not allowed"),
    415: ("unsupported-media-type", "Kiểu nội dung không được hỗ trợ",
          "Unsupported media type"),
}

# The keys of a request body the prepared path answers: anything else (``extensions``, a
# batch) goes the Strawberry way.
_PLAIN_REQUEST = frozenset(("query", "variables", "operationName"))


class GraphQLView(GraphQL):
    def __init__(self, settings: Settings) -> None:
        schema = build_schema(settings)
        # None: the fast path is off (settings.graphql_fast_path), nothing is answered from it.
        self._prepared = schema.prepared if settings.graphql_fast_path else None
        self._ide_html: str | None = None
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphql_graphiql_on else None,
            allow_queries_via_get=True,
            subscription_protocols=(),
        )

    @property
    def graphql_ide_html(self) -> str:
        """Strawberry's GraphiQL page on the hub's own copies of its files (no CDN)."""
        if self._ide_html is None:
            self._ide_html = offline_graphiql(super().graphql_ide_html)
        return self._ide_html

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no subscriptions: refuse websockets politely
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            return
        request = Request(scope, receive)
        try:
            response = await self._respond(request)
        except HTTPException as error:
            slug, title_vi, title_en = _HTTP_SLUGS.get(
                error.status_code, ("bad-request", "Yêu cầu không hợp lệ", "Bad request")
            )
            response = problem(
                request, status=error.status_code, slug=slug, title_vi=title_vi,
                title_en=title_en, detail_vi=title_vi + ".", detail_en=str(error.reason),
            )
        except Exception as raised:
            failed = raised if isinstance(raised, HubError) else database_unavailable(raised)
            if failed is None:
                raise  # a bug: the app's handler answers a 500 problem and logs it
            headers = {"WWW-Authenticate": "Bearer"} if failed.status == 401 else None
            if failed.status == 429 and "retry_after" in failed.extra:
                headers = {"Retry-After": str(failed.extra["retry_after"])}
            elif failed.status in (503, 507):  # a database outage, as REST answers it
                headers = {"Retry-After": RETRY_AFTER_SECONDS}
            response = problem_for(request, failed, headers=headers)
        await response(scope, receive, send)

    def should_render_graphql_ide(self, request: Any) -> bool:
        """The GraphiQL page for browsers only (a GET asking for HTML, with no query): any
        other client, ``Accept: */*`` included, is an API caller and authenticates."""
        return (
            request.method == "GET"
            and request.query_params.get("query") is None
            and "text/html" in request.headers.get("accept", "")
        )

    async def _respond(self, request: Request) -> Response:
        hub = request.app.state.hub
        if self.should_render_graphql_ide(StarletteRequestAdapter(request)):
            try:
                self.graphql_ide_html  # noqa: B018 (built once; fails when not vendored)
            except AssetsMissing as missing:
                return problem(
                    request, status=503, slug="assets-missing",
                    title_vi="Thiếu tệp của trang GraphiQL",
                    title_en="GraphiQL's files are not installed",
                    detail_vi=f"Chưa cài tệp {missing}: chạy `make install` để tải về.",
                    detail_en=f"{missing} is not installed: run `make install` to fetch it.",
                )
            return await self.run(request, context={"request": request})  # type: ignore[call-overload]
        principal = await authenticate(request, hub)
        malformed = await _malformed(request)
        if malformed is not None:
            detail_vi, detail_en = malformed
            return problem(request, status=400, slug="invalid-input",
                           title_vi="Yêu cầu GraphQL không hợp lệ",
                           title_en="Invalid GraphQL request",
                           detail_vi=detail_vi, detail_en=detail_en)
        limiter = getattr(request.app.state, "rate_limiter", None)
        if limiter is not None:
            await limiter.enforce_client(principal.client_id)  # 429 with Retry-After
        if not (principal.has_scope(RECORDS_READ) or principal.has_scope(RECORDS_WRITE)):
            # Nothing here is for a caller with neither scope (an admin session, say): 403
            # as on every REST route, before any document is read. Fields check their own.
            require_scope(principal, RECORDS_READ)
        context = Context(
            hub=hub,
            principal=principal.via("graphql"),
            graph=await hub.catalog.agencies(),
            request=request,
        )
        if request.method == "POST" and self._prepared is not None:
            answered = await self._answer_prepared(request, context)
            if answered is not None:
                return answered
        return await self.run(request, context=context)  # type: ignore[call-overload]

    async def _answer_prepared(self, request: Request, context: Context) -> Response | None:
        """A POSTed query whose document is already validated, run straight through
        graphql-core (``_prepared``); None sends the request the whole Strawberry way, which
        also answers every malformed body and every result with errors."""
        if not request.headers.get("content-type", "").startswith("application/json"):
            return None
        accept = request.headers.get("accept", "")
        if "multipart/mixed" in accept or "text/event-stream" in accept:
            return None  # a streamed transport
        body = getattr(request.state, "graphql_body", None)  # parsed by _malformed
        if type(body) is not dict or not body.keys() <= _PLAIN_REQUEST:
            return None
        query, variables, name = body.get("query"), body.get("variables"), body.get(
            "operationName")
        if type(query) is not str or not (variables is None or type(variables) is dict) or not (
                name is None or type(name) is str):
            return None
        document = self._prepared.get(query, name) if self._prepared is not None else None
        if document is None:
            return None
        data = await execute_prepared(self.schema, document, context, variables, name)
        if data is None:
            return None
        return Response(self.encode_json(data), media_type="application/json")

    async def process_result(self, request: Any, result: Any) -> Any:
        if result.errors:
            describe_errors(result.errors, english=prefers_english(request))
        return await super().process_result(request, result)

    async def get_context(self, request: Any, response: Any) -> Any:  # pragma: no cover
        raise RuntimeError("the context is made in __call__ after authentication")


# Variables nested deeper than this are refused before anything parses them again (Python's
# json, used by Strawberry, would hit the interpreter's recursion limit near 1,000 levels).
MAX_VARIABLES_DEPTH = 64


def _too_deep(value: object, limit: int = MAX_VARIABLES_DEPTH) -> bool:
    """Nesting depth above ``limit``, measured without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


async def _malformed(request: Request) -> tuple[str, str] | None:
    """What is wrong with a request body or ``variables`` Strawberry would choke on (not JSON,
    not UTF-8, not an object, nested too deep), as (Vietnamese, English); None when fine. A
    parsed POST body is kept on ``request.state`` for the prepared path."""
    found: list[tuple[object, bool]] = []  # (parsed, is the whole body)
    try:
        if request.method == "POST" and request.headers.get("content-type", "").startswith(
                "application/json"):
            request.state.graphql_body = json_strict.loads(await request.body())
            found.append((request.state.graphql_body, True))
        if "variables" in request.query_params:
            found.append((json_strict.loads(request.query_params["variables"]), False))
    except orjson.JSONDecodeError as error:
        return ("Nội dung không phải JSON hợp lệ (UTF-8, lồng không quá sâu).",
                f"The body is not valid JSON (UTF-8, not nested too deep): {error.msg}.")
    except json_strict.StrictJSONError as error:
        return (f"Nội dung JSON bị từ chối: {error.message_vi}.",
                f"The JSON body is refused: {error.message_en}.")
    for parsed, whole_body in found:
        if whole_body and not isinstance(parsed, dict | list):
            return ("Nội dung phải là một đối tượng JSON {\"query\": ...}.",
                    'The body must be a JSON object {"query": ...}.')
        variables = parsed.get("variables") if isinstance(parsed, dict) and whole_body \
            else parsed
        if _too_deep(variables):
            return (f"Biến (variables) lồng quá sâu: tối đa {MAX_VARIABLES_DEPTH} mức.",
                    f"variables are nested too deep: at most {MAX_VARIABLES_DEPTH} levels.")
    return None


def graphql_route(settings: Settings) -> Route:
    """``/graphql`` (GET and POST), for the app's routes; other methods get a 405 problem."""
    return Route("/graphql", GraphQLView(settings), methods=["GET", "POST"],
                 include_in_schema=False)
