"""Which content keys a list's selection reads, so that PostgreSQL sends only those.

A record's content (the ``data`` JSONB column) holds every field of its type, some 20 for a
product, with lists and objects; a page of 50 products asking for six of them spent more CPU
decoding and copying the rest than on anything else (py-spy, bench/graphql). The selection
of a connection says what will be read: every plain field reads the content key of its own
name, a resolver reads what it declares with :func:`reads`. When some selected field has
no declaration, nothing is known and the whole content is read, as before.

The keys only narrow what is read: a field whose key was not read would resolve to null, so
a resolver that reads content must declare it (tests/graphql/test_projection.py checks every
resolver of every record type has a declaration).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.nodes import FragmentSpread, InlineFragment, Selection

from gateway.graphql._loaders import ENVELOPE_NAMES

F = TypeVar("F", bound=Callable[..., Any])
Needs = tuple[str, ...] | None  # content keys, or None: unknown


def reads(*keys: str) -> Callable[[F], F]:
    """Declare the content keys a record field's resolver reads (none: envelope only)."""

    def mark(resolver: F) -> F:
        resolver.graphql_reads = keys  # type: ignore[attr-defined]
        return resolver

    return mark


@functools.lru_cache(maxsize=64)
def field_needs(schema: Any, type_name: str) -> dict[str, Needs]:
    """GraphQL field name -> the content keys it reads, for one record type or interface."""
    definition = schema.get_type_by_name(type_name)
    if not isinstance(definition, StrawberryObjectDefinition):
        return {}
    converter = schema.config.name_converter
    needs: dict[str, Needs] = {}
    for field in definition.fields:
        resolver = field.base_resolver
        if resolver is None:
            name = field.python_name
            needs[converter.get_graphql_name(field)] = () if name in ENVELOPE_NAMES else (name,)
        else:
            needs[converter.get_graphql_name(field)] = getattr(
                resolver.wrapped_func, "graphql_reads", None)
    return needs


def connection_keys(schema: Any, connections: Iterable[Any], node_type: str,
                    extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The content keys the nodes of a selected connection read (``nodes`` and
    ``edges { node }``), with ``extra``; None when a selected field's needs are unknown.
    ``connections``: the field's selections (several when a document selects the same field
    twice; GraphQL merges them)."""
    keys: set[str] = set(extra)
    for selection in selected_fields(connections):
        if selection.name == "nodes":
            found = _record_keys(schema, selection.selections, node_type, keys)
        elif selection.name == "edges":
            found = True
            for part in _fields(selection.selections):
                if part.name == "node":
                    found = found and _record_keys(schema, part.selections, node_type, keys)
        else:  # pageInfo, __typename: nothing of the content
            found = True
        if not found:
            return None
    return frozenset(keys)


def _record_keys(schema: Any, selections: list[Selection], type_name: str,
                 keys: set[str]) -> bool:
    for selection in selections:
        if isinstance(selection, (InlineFragment, FragmentSpread)):
            if not _record_keys(schema, selection.selections,
                                selection.type_condition or type_name, keys):
                return False
            continue
        if selection.name == "__typename":
            continue
        needs = field_needs(schema, type_name).get(selection.name)
        if needs is None:
            return False
        keys.update(needs)
    return True


def selected_fields(fields: Iterable[Any]) -> Iterable[Any]:
    """The fields selected under ``fields`` (Strawberry's ``info.selected_fields``),
    fragments opened."""
    return _fields([s for field in fields for s in field.selections])


def _fields(selections: list[Selection]) -> Iterable[Any]:
    """The fields of a selection, fragments opened (on a connection's own types)."""
    for selection in selections:
        if isinstance(selection, (InlineFragment, FragmentSpread)):
            yield from _fields(selection.selections)
        else:
            yield selection
