"""Unknown query parameters are refused, not ignored: ``?limt=2`` answering 50 unfiltered
records looks like success to a client that misspelt a filter. Every ``/v1`` route declares
its parameters (FastAPI's dependants, and the fields of a :class:`QueryModel`), so the allowed
set is read from the matched route once and kept; a request naming anything else gets a 400
problem naming it and the allowed ones."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from hub import InvalidInput

_ALLOWED: dict[int, frozenset[str]] = {}
M = TypeVar("M", bound=BaseModel)


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    if isinstance(dependant.call, QueryModel):
        names |= dependant.call.names
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _allowed(route: APIRoute) -> frozenset[str]:
    known = _ALLOWED.get(id(route))
    if known is None:
        known = _ALLOWED[id(route)] = frozenset(_query_names(route.dependant))
    return known


async def reject_unknown_query(request: Request) -> None:
    """A router dependency: 400 when the query string names a parameter the route lacks."""
    if not request.scope.get("query_string"):  # not request.url: it builds the whole URL
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    allowed = _allowed(route)
    unknown = sorted({name for name in request.query_params if name not in allowed})
    if unknown:
        names = ", ".join(unknown)
        listed = ", ".join(sorted(allowed)) or "—"
        raise InvalidInput(
            f"Tham số truy vấn không được hỗ trợ: {names}. Các tham số hợp lệ: {listed}.",
            f"Unknown query parameter(s): {names}. Allowed: {listed}.",
            unknown_parameters=unknown, allowed_parameters=sorted(allowed),
        )


class QueryModel(Generic[M]):
    """A dependency reading a route's query string into one pydantic model, validated in one
    pass. FastAPI validates each declared query parameter on its own and inspects its type
    again on every request: 13 filters of the record lists cost a tenth of a page's CPU
    (py-spy and pyinstrument on bench read). The parameters are still documented one by one
    (:meth:`openapi_parameters`, as FastAPI writes them), refused with the same 400 problem
    (a ``RequestValidationError`` located in ``query``), and allowed by
    :func:`reject_unknown_query` (:attr:`names`)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.names = frozenset(
            field.alias or name for name, field in model.model_fields.items()
        )

    async def __call__(self, request: Request) -> M:
        # dict() of Starlette's QueryParams keeps a repeated name's last value, as FastAPI does.
        try:
            return self.model.model_validate(dict(request.query_params))
        except ValidationError as error:
            raise RequestValidationError([
                {**e, "loc": ("query", *e["loc"])} for e in error.errors(include_url=False)
            ]) from None

    def openapi_parameters(self) -> list[dict[str, Any]]:
        """The OpenAPI parameters FastAPI would write for the model's fields declared one by
        one (the contract does not change): ``openapi_extra={"parameters": ...}``."""
        schema = self.model.model_json_schema()
        parameters = []
        for name, field in self.model.model_fields.items():
            alias = field.alias or name
            prop = dict(schema["properties"][alias])
            if prop.get("default", ...) is None:
                del prop["default"]  # FastAPI leaves an optional parameter's null default out
            parameter: dict[str, Any] = {"name": alias, "in": "query",
                                         "required": field.is_required(), "schema": prop}
            if field.description:
                parameter["description"] = field.description
            parameters.append(parameter)
        return parameters
