"""Prepared queries: a query document Strawberry has already parsed, validated and let run is
executed again straight through graphql-core.

Strawberry's request path costs the same for every request, however often the document has
been seen: the HTTP view parses the body and builds request objects, and the schema opens a
per-request extension runner (the limits and caches of ``_schema.extensions``), with hooks
around the operation, parsing, validation and execution. For the same 50 products, that was
about a tenth of the server's CPU (3.03 against 2.72 ms a request, bench/graphql's page on two
servers in alternation); the parse and validation caches already made the steps themselves
free.

Here a document is remembered (``RememberQueries``, an extension of the schema) the first
time it reaches execution as a query, that is once it has passed the token limit, the depth,
alias and introspection rules and the operation checks. The next POST of the same text and
operation name runs it with the same executor (``FastExecutionContext``) and context. Only a
clean result is answered from here: a result with errors is dropped and the request goes the
whole Strawberry way, which logs, masks and describes errors as it always has. Queries have
no side effects, so running one twice changes nothing but the time it takes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Iterator
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode, execute
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.graphql._fast import FastExecutionContext

Key = tuple[str, str | None]


class PreparedQueries:
    """Validated query documents by (query text, operation name), the newest ``maxsize``
    (texts come from callers: the number kept is bounded)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._documents: OrderedDict[Key, DocumentNode] = OrderedDict()

    def get(self, query: str, operation_name: str | None) -> DocumentNode | None:
        return self._documents.get((query, operation_name))

    def remember(self, query: str, operation_name: str | None, document: DocumentNode) -> None:
        keys: list[Key] = [(query, operation_name)]
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) == 1:
            # graphql-core runs a document's only operation whether or not its name is sent.
            keys.append((query, None))
        for key in keys:
            self._documents[key] = document
            self._documents.move_to_end(key)
        while len(self._documents) > self.maxsize:
            self._documents.popitem(last=False)

    def __len__(self) -> int:
        return len(self._documents)


def remember_queries(prepared: PreparedQueries) -> type[SchemaExtension]:
    """The schema extension that fills ``prepared``: its ``on_execute`` runs only for a
    document that passed parsing, validation and the operation-type checks."""

    class RememberQueries(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            context = self.execution_context
            if context.query is not None and context.graphql_document is not None and (
                context.operation_type == OperationType.QUERY
            ):
                prepared.remember(context.query, context.operation_name,
                                  context.graphql_document)
            yield

    return RememberQueries


async def execute_prepared(
    schema: Any,
    document: DocumentNode,
    context: Any,
    variables: dict[str, Any] | None,
    operation_name: str | None,
) -> dict[str, Any] | None:
    """The response body of a clean run (``{"data": ...}``), or None when the result has
    errors (variables that do not fit, a resolver's error): then Strawberry answers."""
    run = execute(
        schema._schema,  # Strawberry's graphql-core schema
        document,
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
        executor_class=FastExecutionContext,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # as Strawberry passes it
    )
    result = await run if isinstance(run, Awaitable) else run
    if result.errors or result.data is None:
        return None
    return {"data": result.data}
