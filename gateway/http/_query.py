"""Unknown query parameters are refused, not ignored: ``?limt=2`` answering 50 unfiltered
records looks like success to a client that misspelt a filter. Every ``/v1`` route declares
its parameters (FastAPI's dependants), so the allowed set is read from the matched route once
and kept; a request naming anything else gets a 400 problem naming it and the allowed ones."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from hub import InvalidInput

_ALLOWED: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
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
    if not request.url.query:
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
