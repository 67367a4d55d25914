"""The fast executor (gateway.graphql._fast) changes how fast results come, never what they
are: every document gives the same data and the same errors as graphql-core's own executor,
on the real schema and data and on values that break their types."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.graphql import _schema
from gateway.graphql._context import Context
from gateway.graphql._fast import FastExecutionContext, fast
from gateway.graphql._types import default_resolver
from hub import Hub, Principal, Settings
from tests.api._helpers import course, event, product, push

pytestmark = pytest.mark.anyio


@strawberry.type
class Inner:
    code: str
    n: int | None


@fast
def _inner(root: Any, info: strawberry.Info) -> Inner | None:
    return root.get("inner")  # type: ignore[no-any-return]


@fast
def _label(root: Any, info: strawberry.Info) -> str:
    return root.get("label")  # type: ignore[no-any-return]


@strawberry.type
class Item:
    name: str
    count: int
    tags: list[str]
    maybe: list[str | None] | None
    inner: Inner | None = strawberry.field(resolver=_inner)
    required: Inner = strawberry.field(resolver=_inner)
    label: str = strawberry.field(resolver=_label)


@strawberry.type
class Query:
    @strawberry.field
    def items(self, info: strawberry.Info) -> list[Item | None]:
        return info.context["items"]  # type: ignore[no-any-return]


def _run(items: list[Any], document: str, context_class: Any) -> tuple[Any, list[Any]]:
    schema = strawberry.Schema(Query, execution_context_class=context_class,
                               config=StrawberryConfig(default_resolver=default_resolver))
    result = schema.execute_sync(document, context_value={"items": items})
    return result.data, sorted((e.formatted for e in result.errors or ()), key=str)


GOOD = {"name": "a", "count": 1, "tags": ["x"], "maybe": None, "label": "l",
        "inner": {"code": "c", "n": 2}}
BROKEN = [
    {**GOOD, "name": None},
    {**GOOD, "count": "many"},
    {**GOOD, "count": 2**40},
    {**GOOD, "tags": ["x", None]},
    {**GOOD, "tags": "xyz"},
    {**GOOD, "tags": [1, 2]},
    {**GOOD, "maybe": ["y", None]},
    {**GOOD, "inner": None},
    {**GOOD, "inner": {"code": None, "n": 1}},
    {**GOOD, "inner": {"code": "c", "n": 1.5}},
    {**GOOD, "label": None},
    {**GOOD, "label": 7},
    None,
]
DOCUMENTS = [
    "{ items { name count tags maybe label inner { code n } } }",
    "{ items { name r: required { code } } }",
    "{ items { __typename x: name ...F inner { ... on Inner { code } } } } "
    "fragment F on Item { count tags }",
    "query($s: Boolean!) { items { name @skip(if: $s) count label } }",
]


@pytest.mark.parametrize("item", [GOOD, *BROKEN], ids=repr)
def test_same_answer_as_graphql_core(item: Any) -> None:
    for document in DOCUMENTS:
        document = document.replace("$s", "true") if "$s" not in document[:20] else document
        items = [GOOD, item, GOOD]
        ours = _run(items, document.replace("query($s: Boolean!) ", ""), FastExecutionContext)
        theirs = _run(items, document.replace("query($s: Boolean!) ", ""),
                      StrawberryGraphQLCoreExecutionContext)
        assert ours == theirs


def test_shared_objects_completed_once_with_the_same_answer() -> None:
    """An object that is not a dict (an agency of the registry) is completed once per
    selection and reused; one that breaks its type is never reused, its errors are reported
    at every path."""
    shared, broken = SimpleNamespace(code="c", n=2), SimpleNamespace(code="c", n=1.5)
    items = [{**GOOD, "inner": shared}, {**GOOD, "inner": broken},
             {**GOOD, "inner": shared}, {**GOOD, "inner": broken}]
    for document in DOCUMENTS:
        document = document.replace("query($s: Boolean!) ", "").replace("$s", "true")
        ours = _run(items, document, FastExecutionContext)
        assert ours == _run(items, document, StrawberryGraphQLCoreExecutionContext)
    data, errors = _run(items, "{ items { inner { code n } } }", FastExecutionContext)
    assert data["items"][0]["inner"] == data["items"][2]["inner"] == {"code": "c", "n": 2}
    assert [e["path"] for e in errors] == [["items", 1, "inner", "n"], ["items", 3, "inner", "n"]]


async def test_same_answer_on_the_real_schema(client: Any, hub: Hub) -> None:
    await push(client, "g16", "products", [product(f"F{i}", publication_year=2020 + i)
                                           for i in range(5)])
    await push(client, "hg", "events", [event("FE1")])
    await push(client, "g16", "training-courses", [course("FC1", product_source_ids=["F1"])])
    documents = [
        "{ products(first: 3) { edges { cursor node { __typename id title languages "
        "publicationYear createdAt agency { id code name validFrom inForce successors { code } } "
        "themeTerms { code labelVi } } } pageInfo { hasNextPage endCursor } } }",
        "{ trainingCourses { nodes { title participantsByGroup products { title agency "
        "{ code } } } } events { nodes { startDate agency { code predecessors { code } } } } }",
        '{ agency(code: "08") { code records(type: EVENTS) { nodes { ... on Event '
        "{ sourceId startDate } } } } }",
    ]
    settings = Settings(environment="test")
    fast_schema = _schema.build_schema(settings)
    # A copy: the built schema is shared by every app of these settings.
    plain_schema = copy.copy(fast_schema)
    plain_schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
    assert fast_schema.execution_context_class is FastExecutionContext
    principal = Principal("client-g16", "G16", frozenset({"records:read"}), channel="graphql")
    for document in documents:
        answers = []
        for schema in (fast_schema, plain_schema):
            context = Context(hub=hub, principal=principal, graph=await hub.catalog.agencies())
            result = await schema.execute(document, context_value=context)
            assert not result.errors, result.errors
            answers.append(result.data)
        assert answers[0] == answers[1]
