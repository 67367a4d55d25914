"""A faster way through graphql-core's executor for what most queries are made of: objects
whose fields are plain values.

graphql-core resolves every field on its own: a path object, a resolve-info object, the
resolver, then completion of the value, about 10 µs a field on this machine; a page of 50
products with their agencies has ~650 fields. Here, once per request and selection, the
fields of an object type are sorted into a plan:

* plain fields (Strawberry's default resolver, no arguments) of scalar or list-of-scalar
  type are read straight from the source (dict key or attribute) and coerced;
* fields whose resolver is marked :func:`fast` (sync, reads only ``info.context``) are called
  directly, and an object they return is completed through its own plan;
* everything else (loaders, arguments, introspection) goes through graphql-core as usual.

If a plain value breaks its type (null in a non-null field, a value its scalar refuses), the
object is executed again the ordinary way, which reports the error exactly as GraphQL
requires: the plan never changes a result, only how fast it is reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from graphql import (
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    is_leaf_type,
)
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

F = TypeVar("F", bound=Callable[..., Any])
BACKREF = "strawberry-definition"
# Plan entries are tuples (plain tuples: read ~650 times a page), by kind:
#   _SCALAR      (key, kind, python name, non-null, coerce or None for str)
#   _LIST        (key, kind, python name, non-null, items non-null, coerce or None)
#   _TYPENAME    (key, kind, type name)
#   _CALL        (key, kind, resolver, non-null, coerce or None, field details)
#   _CALL_OBJECT (key, kind, resolver, non-null, object type, field details, field type)
#   _SLOW        (key, kind, field details)
_SCALAR, _LIST, _TYPENAME, _CALL, _CALL_OBJECT, _SLOW = range(6)


def fast(resolver: F) -> F:
    """Mark a resolver as safe to call directly: synchronous, ``(root, info)``, reads nothing
    of ``info`` but ``info.context``, has no side effects (it may run twice)."""
    resolver.graphql_fast = True  # type: ignore[attr-defined]
    return resolver


class _Fallback(Exception):
    """A plain value broke its type: execute this object the ordinary way."""


class _Info:
    __slots__ = ("context",)

    def __init__(self, context: Any) -> None:
        self.context = context


def _coerce(leaf: Any) -> Callable[[Any], Any] | None:
    """None when values of this leaf type pass unchanged (strings of String and ID)."""
    if leaf is GraphQLString or leaf is GraphQLID:
        return None
    return leaf.serialize


def _plan(parent: GraphQLObjectType, grouped: Any) -> list[tuple[Any, ...]] | None:
    entries: list[tuple[Any, ...]] = []
    fast_count = 0
    for key, details in grouped.items():
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            entries.append((key, _TYPENAME, parent.name))
            fast_count += 1
            continue
        field = parent.fields.get(name)
        definition = field.extensions.get(BACKREF) if field is not None else None
        if field is None or definition is None or field.args or any(
            d.node.arguments or d.node.directives for d in details
        ):
            entries.append((key, _SLOW, details))
            continue
        nonnull = isinstance(field.type, GraphQLNonNull)
        inner = field.type.of_type if nonnull else field.type
        resolver = definition.base_resolver
        if resolver is None and getattr(field.resolve, "_is_default", False):
            if is_leaf_type(inner):
                entries.append((key, _SCALAR, definition.python_name, nonnull, _coerce(inner)))
                fast_count += 1
                continue
            if isinstance(inner, GraphQLList):
                item = inner.of_type
                item_nonnull = isinstance(item, GraphQLNonNull)
                item = item.of_type if item_nonnull else item
                if is_leaf_type(item):
                    entries.append((key, _LIST, definition.python_name, nonnull,
                                    item_nonnull, _coerce(item)))
                    fast_count += 1
                    continue
        elif resolver is not None and getattr(resolver.wrapped_func, "graphql_fast", False):
            function = resolver.wrapped_func
            if is_leaf_type(inner):
                entries.append((key, _CALL, function, nonnull, _coerce(inner), details))
                fast_count += 1
                continue
            if isinstance(inner, GraphQLObjectType):
                entries.append((key, _CALL_OBJECT, function, nonnull, inner, details,
                                field.type))
                fast_count += 1
                continue
        entries.append((key, _SLOW, details))
    return entries if fast_count else None


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(grouped field set) -> (the set, kept alive so the id stays unique; its plan;
        # whether the plan is all plain values)
        self._plans: dict[int, tuple[Any, list[tuple[Any, ...]] | None, bool]] = {}
        # (id(source), id(grouped field set)) -> (the source, kept alive; its completed
        # fields): an object that is not a record's own dict (an agency of the registry) is
        # completed once per selection, however many records point to it.
        self._completed: dict[tuple[int, int], tuple[Any, dict[str, Any]]] = {}
        self._last_subfields: tuple[Any, Any, Any, Any] = (None, None, None, None)
        # id(_CALL_OBJECT plan entry) -> the returned type's (grouped fields, plan, plain)
        self._subplans: dict[int, tuple[Any, list[tuple[Any, ...]] | None, bool]] = {}
        self._info = _Info(self.context_value)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        cached = self._plan_for(parent_type, grouped_field_set)
        plan = cached[1]
        if cached[2]:
            plain = self._plain_object(grouped_field_set, plan, source_value)  # type: ignore[arg-type]
            if plain is not None:
                return plain
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        if plan is not None:
            try:
                values = self._plain_values(plan, source_value)
            except _Fallback:
                plan = None
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        return self._finish(plan, values, parent_type, source_value, path, position_context)

    def build_response(self, data: dict[str, Any] | None) -> Any:
        try:
            return super().build_response(data)
        finally:
            # graphql-core's executor refers to itself (its async helpers are its own bound
            # methods): every request's executor, with its caches and the request's context,
            # waited for the cyclic collector (~250 objects a request). The collections that
            # garbage set off traversed every request in flight: 8-15 % of the CPU at 64
            # connections (gc callbacks, bench/graphql). Nothing of the executor runs once its
            # response is built (no incremental delivery in this schema).
            del self.async_helpers

    def complete_list_item_value(
        self,
        item: Any,
        complete_results: list[Any],
        item_type: Any,
        field_details_list: Any,
        info: Any,
        item_path: Path,
        position_context: Any,
    ) -> bool:
        """An object in a list goes straight to its fields' plan (graphql-core would pass
        through five calls per item first); anything else the usual way."""
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if item is None or not isinstance(object_type, GraphQLObjectType) or (
            object_type.is_type_of is not None and not object_type.is_type_of(item, info)
        ):
            return bool(super().complete_list_item_value(
                item, complete_results, item_type, field_details_list, info, item_path,
                position_context,
            ))
        last = self._last_subfields
        if last[0] is object_type and last[1] is field_details_list:
            grouped, deferred = last[2], last[3]  # the list's previous item: the same fields
        else:
            grouped, deferred, _ = self.collect_subfields(object_type, field_details_list)
            self._last_subfields = (object_type, field_details_list, grouped, deferred)
        if deferred:
            return bool(super().complete_list_item_value(
                item, complete_results, item_type, field_details_list, info, item_path,
                position_context,
            ))
        try:
            completed = self.execute_fields(object_type, item, item_path, grouped,
                                            position_context)
        except Exception as error:  # as graphql-core's complete_list_item_value would
            self.handle_field_error(error, item_type, field_details_list, item_path)
            complete_results.append(None)
            return False
        if self.is_awaitable(completed):
            complete_results.append(
                self._guarded(completed, item_type, field_details_list, item_path)
            )
            return True
        complete_results.append(completed)
        return False

    def _plain_values(self, plan: list[tuple[Any, ...]], source: Any) -> dict[str, Any]:
        """Every plain field of the plan, in order, with a slot for the others; raises
        _Fallback before anything with side effects has run."""
        is_dict = type(source) is dict
        values: dict[str, Any] = {}
        for entry in plan:
            kind = entry[1]
            if kind == _SCALAR:
                value = source.get(entry[2]) if is_dict else getattr(source, entry[2])
                if value is None:
                    if entry[3]:
                        raise _Fallback
                elif entry[4] is not None:
                    try:
                        value = entry[4](value)
                    except Exception as error:
                        raise _Fallback from error
                elif type(value) is not str:
                    raise _Fallback
                values[entry[0]] = value
            elif kind == _LIST:
                items = source.get(entry[2]) if is_dict else getattr(source, entry[2])
                if items is None:
                    if entry[3]:
                        raise _Fallback
                    values[entry[0]] = None
                    continue
                if type(items) is not list:
                    raise _Fallback
                coerce = entry[5]
                if coerce is None:
                    for item in items:
                        if type(item) is not str:
                            raise _Fallback
                    values[entry[0]] = items
                    continue
                out: list[Any] = []
                for item in items:
                    if item is None:
                        if entry[4]:
                            raise _Fallback
                        out.append(None)
                        continue
                    try:
                        out.append(coerce(item))
                    except Exception as error:
                        raise _Fallback from error
                values[entry[0]] = out
            elif kind == _TYPENAME:
                values[entry[0]] = entry[2]
            else:
                values[entry[0]] = None  # a slot, filled by _finish in this order
        return values

    def _finish(
        self,
        plan: list[tuple[Any, ...]],
        values: dict[str, Any],
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        position_context: Any,
    ) -> Any:
        pending: list[str] = []
        is_awaitable = self.is_awaitable
        for entry in plan:
            kind = entry[1]
            if kind < _CALL:
                continue
            key = entry[0]
            result: Any = None
            done = False
            if kind == _CALL:
                value = entry[2](source, self._info)
                if value is not None:
                    try:
                        result = value if entry[4] is None else entry[4](value)
                        done = result is not None and (entry[4] is not None or type(value) is str)
                    except Exception:
                        done = False
                else:
                    done = not entry[3]
            elif kind == _CALL_OBJECT:
                try:
                    value = entry[2](source, self._info)
                    if value is None:
                        if entry[3]:
                            raise TypeError(f"Cannot return null for non-nullable field "
                                            f"{parent_type.name}.{entry[5][0].node.name.value}.")
                    else:
                        result = self._complete_object(entry, value, path, parent_type,
                                                       position_context)
                except Exception as error:  # as graphql-core's execute_field would
                    self.handle_field_error(error, entry[6], entry[5],
                                            Path(path, key, parent_type.name))
                    result = None
                done = True
            if not done:  # slow, or a fast field that must report an error: the usual way
                details = entry[2] if kind == _SLOW else entry[5]
                result = self.execute_field(
                    parent_type, source, details, Path(path, key, parent_type.name),
                    position_context,
                )
            values[key] = result
            if is_awaitable(result):
                pending.append(key)
        if not pending:
            return values

        async def gather() -> dict[str, Any]:
            if len(pending) == 1:
                values[pending[0]] = await values[pending[0]]
            else:  # concurrently, as graphql-core does, so DataLoaders batch across fields
                found = await gather_with_cancel(*(values[key] for key in pending))
                values.update(zip(pending, found, strict=True))
            return values

        return gather()

    def _plan_for(self, parent_type: GraphQLObjectType,
                  grouped: Any) -> tuple[Any, list[tuple[Any, ...]] | None, bool]:
        cached = self._plans.get(id(grouped))
        if cached is None:
            plan = _plan(parent_type, grouped)
            plain = plan is not None and all(entry[1] < _CALL for entry in plan)
            cached = self._plans[id(grouped)] = (grouped, plan, plain)
        return cached

    def _complete_object(self, entry: tuple[Any, ...], value: Any, parent_path: Path | None,
                         parent_type: GraphQLObjectType, position_context: Any) -> Any:
        """The object a fast resolver returned (``entry``: its _CALL_OBJECT plan entry)."""
        sub = self._subplans.get(id(entry))
        if sub is None:  # its fields, collected once per request and field
            grouped = self.collect_subfields(entry[4], entry[5])[0]
            sub = self._subplans[id(entry)] = self._plan_for(entry[4], grouped)
        grouped, plan, plain = sub
        if plain:  # all plain values: no path needed unless one breaks its type
            values = self._plain_object(grouped, plan, value)  # type: ignore[arg-type]
            if values is not None:
                return values
        path = Path(parent_path, entry[0], parent_type.name)
        result = self.execute_fields(entry[4], value, path, grouped, position_context)
        if self.is_awaitable(result):
            return self._guarded(result, entry[6], entry[5], path)
        return result

    def _plain_object(self, grouped: Any, plan: list[tuple[Any, ...]],
                      source: Any) -> dict[str, Any] | None:
        """The fields of an object whose plan is all plain values, or None when one breaks
        its type. A shared object (not a record's own dict) is completed once per request and
        selection: the same whatever the path."""
        if type(source) is dict:
            try:
                return self._plain_values(plan, source)
            except _Fallback:
                return None
        key = (id(source), id(grouped))
        memo = self._completed.get(key)
        if memo is not None and memo[0] is source:
            return memo[1]
        try:
            values = self._plain_values(plan, source)
        except _Fallback:
            return None
        self._completed[key] = (source, values)
        return values

    async def _guarded(self, awaitable: Any, field_type: Any, details: Any, path: Path) -> Any:
        try:
            return await awaitable
        except Exception as error:
            self.handle_field_error(error, field_type, details, path)
            return None
