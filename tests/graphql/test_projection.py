"""Lists read only the content their selection needs (gateway.graphql._projection): the same
results as reading the whole content, whatever is selected, through fragments and interfaces;
PostgreSQL is really asked for those keys only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, get_named_type, is_leaf_type
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from gateway.graphql._projection import connection_keys, field_needs
from gateway.graphql._schema import build_schema
from gateway.graphql._types import RECORD_OBJECTS
from hub import Hub, Principal, RecordFilter, Settings, list_records
from tests.api._helpers import course, product, push
from tests.graphql._helpers import data

pytestmark = pytest.mark.anyio


def _selection(schema: Any, type_name: str) -> str:
    """Every field of a type; object fields with their leaf fields (one level)."""
    return " ".join(_fields(schema, type_name))


def _fields(schema: Any, type_name: str) -> list[str]:
    graphql_type = schema._schema.get_type(type_name)
    parts = []
    for name, field in sorted(graphql_type.fields.items()):
        if field.args and any(a.type.__class__.__name__ == "GraphQLNonNull"
                              for a in field.args.values()):
            continue
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            parts.append(name)
        elif isinstance(inner, GraphQLObjectType):
            leaves = [n for n, f in inner.fields.items()
                      if is_leaf_type(get_named_type(f.type)) and not f.args]
            parts.append(f"{name} {{ {' '.join(sorted(leaves))} }}")
    return parts


RICH = dict(
    subtitle="Hỏi và đáp", description="Sách hỏi đáp về quyền con người.",
    authors=["Nguyễn Văn A", "Trần Thị B"], publisher="NXB Chính trị quốc gia Sự thật",
    isbn="9780000000071", publication_year=2024, published_on="2024-12-10",
    edition_format="print", page_count=212, target_groups=["reporter"],
    channels=["website"], funding_source="state_budget", themes=["rights_children"],
    languages=["vie", "eng"], links=[{"url": "https://example.vn/sach", "label": "Bản điện tử"}],
)


async def test_lists_give_what_the_whole_content_gives(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    await push(client, "g16", "products", [
        product("RICH", **RICH), product("BARE"),
        product("LESSON", kind="mooc_lesson", course_source_id="RICH"),
    ])
    await push(client, "g16", "training-courses", [
        course("C1", product_source_ids=["RICH", "BARE"], themes=["rights_children"]),
    ])
    schema = build_schema(hub.settings)
    for list_field, type_name in (("products", "Product"), ("trainingCourses", "TrainingCourse")):
        fragment = f"fragment F on {type_name} {{ {_selection(schema, type_name)} }}"
        page = await data(client, f"""{{ {list_field}(first: 50) {{
            nodes {{ __typename ...F }}
            edges {{ cursor node {{ id ... on {type_name} {{ title }} }} }}
            pageInfo {{ hasNextPage }} }} }} {fragment}""")
        nodes = page[list_field]["nodes"]
        assert nodes and all(n["__typename"] == type_name for n in nodes)
        for node, edge in zip(nodes, page[list_field]["edges"], strict=True):
            # node(id:) reads the whole record: the reference.
            whole = await data(client, f'{{ node(id: "{node["id"]}") {{ __typename ...F }} }}'
                               f" {fragment}")
            assert node == whole["node"]
            assert edge["node"] == {"id": node["id"], "title": node["title"]}
        # Each field alone: what it declares it reads is enough for it.
        for field in _fields(schema, type_name):
            alone = await data(client, f"{{ {list_field}(first: 50) {{ nodes {{ {field} }} }} }}")
            name = field.split()[0]
            assert alone[list_field]["nodes"] == [{name: n[name]} for n in nodes], field
        by_agency = await data(client, f"""{{ agency(code: "G16") {{
            records(type: {"TRAINING_COURSES" if type_name == "TrainingCourse" else "PRODUCTS"},
                    first: 50) {{ nodes {{ id ... on {type_name} {{ ...F }} }} }} }} }}
            {fragment}""")
        assert by_agency["agency"]["records"]["nodes"] == [
            {k: v for k, v in n.items() if k != "__typename"} for n in nodes]
    twice = await data(client, "{ products(first: 50) { nodes { sourceId } } "
                       "products(first: 50) { nodes { publisher } } }")
    assert {n["sourceId"]: n["publisher"] for n in twice["products"]["nodes"]}["RICH"] == (
        RICH["publisher"])
    rich = next(n for n in (await data(client, "{ products(first: 50) { nodes { sourceId "
                                       "publisher pageCount authors links { url } } } }"))
                ["products"]["nodes"] if n["sourceId"] == "RICH")
    assert rich == {"sourceId": "RICH", "publisher": RICH["publisher"], "pageCount": 212,
                    "authors": RICH["authors"], "links": [{"url": "https://example.vn/sach"}]}


async def test_postgresql_sends_only_the_keys_asked_for(
    client: httpx.AsyncClient, hub: Hub, backend: str
) -> None:
    await push(client, "g16", "products", [product("RICH", **RICH)])
    principal = Principal("client-g16", "G16", frozenset({"records:read"}))
    graph = await hub.catalog.agencies()
    keys = frozenset({"title", "page_count", "missing_key"})
    async with hub.db.engine.connect() as connection:
        for flt in (RecordFilter(), RecordFilter(q="hoi dap")):
            page = await list_records(connection, principal, graph, "products", flt, limit=5,
                                      cursor=None, content_keys=keys)
            (row,) = page.items
            if backend == "postgresql":
                assert row.data == {"title": "Sách RICH", "page_count": 212, "missing_key": None}
            else:  # SQLite reads the whole content
                assert row.data["publisher"] == RICH["publisher"]
            whole = await list_records(connection, principal, graph, "products", flt, limit=5,
                                       cursor=None)
            assert {k: whole.items[0].data.get(k) for k in keys} == {
                k: row.data.get(k) for k in keys}


def _field(name: str, *selections: Any) -> SelectedField:
    return SelectedField(name=name, directives={}, arguments={}, selections=list(selections))


def test_keys_of_a_selection() -> None:
    schema = build_schema(Settings(environment="test"))
    connection = _field(
        "products",
        _field("nodes", _field("__typename"), _field("id"), _field("title"),
               _field("agency", _field("code")), _field("themeTerms", _field("labelVi")),
               InlineFragment(type_condition="Product", directives={},
                              selections=[_field("publicationYear")])),
        _field("edges", _field("cursor"), _field("node", FragmentSpread(
            name="F", type_condition="Product", directives={},
            selections=[_field("languages"), _field("course", _field("title"))]))),
        _field("pageInfo", _field("hasNextPage")),
    )
    assert connection_keys(schema, [connection], "Product") == {
        "title", "themes", "publication_year", "languages", "course_source_id"}
    assert connection_keys(schema, [_field("products", _field("pageInfo"))], "Product",
                           extra=("title",)) == {"title"}
    # Fields of the Record interface, and of a type through a fragment on it.
    assert connection_keys(schema, [_field("records", _field("nodes", _field("sourceId"),
        InlineFragment(type_condition="TrainingCourse", directives={},
                       selections=[_field("products", _field("id"))])))],
        "Record") == {"product_source_ids"}
    # The same field selected twice (GraphQL merges them): what both read.
    assert connection_keys(schema, [_field("products", _field("nodes", _field("title"))),
                                    _field("products", _field("nodes", _field("kind")))],
                           "Product") == {"title", "kind"}


def test_every_record_field_knows_what_it_reads() -> None:
    """A resolver on a record type without ``reads`` would make every list that selects it
    read the whole content again: each one declares."""
    schema = build_schema(Settings(environment="test"))
    for type_name in ["Record", *(cls.__name__ for cls in RECORD_OBJECTS.values())]:
        needs = field_needs(schema, type_name)
        assert needs and None not in needs.values(), (type_name, needs)
