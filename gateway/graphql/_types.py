"""The object types of the schema: records (generated from ``schemas.RECORD_TYPES``), agencies,
vocabularies, connections, aggregates and the programme dashboard.

Sources are plain dicts (records, terms) or the registry's own objects (agencies); scalar
fields have no resolver of their own, so Strawberry takes its fast path for them and the
default resolver (``default_resolver``) reads the value. Only relations have resolvers.

No ``from __future__ import annotations`` here: the record types are built at import time and
Strawberry must see real classes in the resolvers' annotations.
"""

import enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import strawberry

import schemas
from gateway.graphql._context import Context
from gateway.graphql._fast import fast
from gateway.graphql._lists import enum_value, list_page
from gateway.graphql._projection import reads
from gateway.graphql._scalars import JSON, DateTime
from gateway.graphql._standard import (
    field_annotations,
    output_part_types,
    summary_types,
    type_name,
)
from hub import RecordFilter
from hub.tables import Agency as AgencyRow

T = TypeVar("T")


def default_resolver(source: Any, name: str) -> Any:
    """Scalar fields read dict sources by key, anything else by attribute."""
    if type(source) is dict:
        return source.get(name)
    return getattr(source, name)


RecordTypeName: Any = strawberry.enum(  # type: ignore[call-overload]
    enum.Enum(
        "RecordTypeName",
        {rt.name.replace("-", "_").upper(): rt.name for rt in schemas.RECORD_TYPES.values()},
    ),
    description="A record type of the data standard (its REST path segment).",
)
# The generated enum for Strawberry at run time; Any for the type checker.
if TYPE_CHECKING:
    RecordTypeArg = Any
else:
    RecordTypeArg = RecordTypeName


@strawberry.interface(description="An object with a global id (Relay): node(id:) finds it.")
class Node:
    id: strawberry.ID


@strawberry.type(description="Where a page ends and whether another follows (Relay).")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="A node and the cursor to pass as `after` to continue after it.")
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="A page of a keyset-paginated list (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    nodes: list[T]
    page_info: PageInfo


@strawberry.type(description="A term of a vocabulary, in Vietnamese and English.")
class Term:
    vocabulary: str
    code: str
    label_vi: str
    label_en: str
    group: str | None
    active: bool


@strawberry.type(description="A vocabulary (danh mục): data, versioned, edited by admins.")
class Vocabulary(Node):
    name: str
    label_vi: str
    label_en: str
    version: int
    provisional: bool
    terms: list[Term]


@strawberry.type(description="How the current version of a record reached the hub.")
class Provenance:
    channel: str
    client: str | None
    batch: str | None
    source_updated_at: DateTime | None = strawberry.field(
        default=None, description="The source system's own last-update time (v1.1).")


# --- records --------------------------------------------------------------------------------

ENVELOPE: dict[str, Any] = {
    "id": strawberry.ID,
    "type": str,
    "owner_agency": str,
    "source_id": str,
    "version": int,
    "content_hash": str,
    "created_at": DateTime,
    "updated_at": DateTime,
    "visibility": str,
    "provenance": Provenance,
}
ENVELOPE_DOCS = {
    "id": "The hub id (UUID), also the global id for node(id:).",
    "type": "The record type (REST path segment, e.g. training-courses).",
    "owner_agency": "Code of the agency that owns the record.",
    "version": "Bumped only when the content changes.",
}


@fast
@reads()  # the owner, an envelope column
def _record_agency(root: Any, info: strawberry.Info[Context, None]) -> "Agency":
    return info.context.graph.agencies[root["owner_agency"]]


def _term_resolver(field: str, vocabulary: str, many: bool) -> Any:
    if many:
        @reads(field)
        async def terms(root: Any, info: strawberry.Info[Context, None]) -> list[Term]:
            codes = root.get(field) or ()
            if not codes:
                return []
            found = await info.context.loaders.terms.load_many([(vocabulary, c) for c in codes])
            return [t for t in found if t is not None]  # type: ignore[misc]
        return terms

    @reads(field)
    async def term(root: Any, info: strawberry.Info[Context, None]) -> Term | None:
        code = root.get(field)
        if code is None:
            return None
        return await info.context.loaders.terms.load((vocabulary, code))  # type: ignore[return-value]
    return term


def _term_fields(model: type[schemas.RecordContent], own: set[str]) -> dict[str, Any]:
    """``themeTerms``, ``kindTerm``...: the vocabulary terms behind each coded field."""
    fields: dict[str, Any] = {}
    for field, vocabulary in model.VOCAB_FIELDS.items():
        if field not in own:
            continue
        annotation = model.model_fields[field].annotation
        origin = getattr(annotation, "__origin__", None)
        if origin is dict:
            continue
        many = origin is list
        name = f"{field[:-1] if many and field.endswith('s') else field}_term{'s' if many else ''}"
        fields[name] = strawberry.field(
            resolver=_term_resolver(field, vocabulary, many),
            description=f"The '{vocabulary}' vocabulary terms of {field}.",
        )
    return fields


File: Any = strawberry.type(
    type("File", (), {"__annotations__": field_annotations(schemas.FileMeta, {})}),
    description="A file of the product archive attached to a record; its bytes are served at "
    "/v1/files/{id}/content under the record's access policy.",
)


@reads()  # the record id
async def _record_files(root: Any, info: strawberry.Info[Context, None]) -> list[File]:
    return await info.context.loaders.files.load(root["id"])


PARTS = output_part_types()
# source_updated_at is an input of the standard that the hub keeps in the provenance.
_COMMON = field_annotations(schemas.RecordContent, PARTS, skip=schemas.NOT_CONTENT)
_RECORD_NS: dict[str, Any] = {
    "__annotations__": {**ENVELOPE, **_COMMON},
    "agency": strawberry.field(resolver=_record_agency, description="The owning agency."),
    "files": strawberry.field(resolver=_record_files,
                              description="Archived files (digital copies) of the record."),
    **{k: strawberry.field(description=v) for k, v in ENVELOPE_DOCS.items()},
    **_term_fields(schemas.RecordContent, set(_COMMON)),
}
# ``id`` etc. documented through strawberry.field(), so they need an annotation on the class.
Record: Any = strawberry.interface(
    type("Record", (Node,), _RECORD_NS),
    description="A record of the shared data standard (any type). Tombstones are not served "
    "here; follow the change feed (REST /v1/changes) to learn of deletions.",
)


def _related(record_type: str, field: str, many: bool) -> Any:
    """A relation by the agency's own ids (same owner as the record), through the loader."""
    if many:
        @reads(field)
        async def related_many(root: Any, info: strawberry.Info[Context, None]) -> list[Any]:
            ids = root.get(field) or ()
            if not ids:
                return []
            owner = root["owner_agency"]
            found = await info.context.loaders.records.load_many(
                [(record_type, owner, sid) for sid in ids]
            )
            return [r for r in found if r is not None]
        return related_many

    @reads(field)
    async def related_one(root: Any, info: strawberry.Info[Context, None]) -> Any:
        sid = root.get(field)
        if sid is None:
            return None
        return await info.context.loaders.records.load((record_type, root["owner_agency"], sid))
    return related_one


# record type -> (field, target type, field holding the agency's ids, many, description)
RELATIONS: dict[str, list[tuple[str, str, str, bool, str]]] = {
    "training-courses": [("products", "products", "product_source_ids", True,
                          "The products used as materials (by product_source_ids, same agency).")],
    "awards": [("products", "products", "product_source_ids", True,
                "The awarded products (by product_source_ids, same agency).")],
    "products": [("course", "products", "course_source_id", False,
                  "For a MOOC lesson: its course (by course_source_id, same agency).")],
}


def _record_object_type(record_type: schemas.RecordType) -> Any:
    model = record_type.model
    own = field_annotations(model, PARTS, skip=frozenset(_COMMON) | schemas.NOT_CONTENT)
    name = type_name(record_type)

    def is_type_of(cls: Any, obj: Any, _info: Any) -> bool:
        return type(obj) is dict and obj.get("type") == record_type.name

    namespace: dict[str, Any] = {
        "__annotations__": own,
        "is_type_of": classmethod(is_type_of),
        **_term_fields(model, set(own)),
    }
    for field, target, source_field, many, doc in RELATIONS.get(record_type.name, ()):
        resolver = _related(target, source_field, many)
        # A string: the target may be this very type; Strawberry resolves it in this module.
        target_name = type_name(schemas.RECORD_TYPES[target])
        resolver.__annotations__["return"] = (
            f"list[{target_name}]" if many else f"{target_name} | None"
        )
        namespace[field] = strawberry.field(resolver=resolver, description=doc)
    cls = strawberry.type(
        type(name, (Record,), namespace),
        description=f"{record_type.label_en} ({record_type.label_vi}). "
        f"{(model.__doc__ or '').strip()}",
    )
    globals()[name] = cls
    return cls


RECORD_OBJECTS: dict[str, Any] = {
    name: _record_object_type(rt) for name, rt in schemas.RECORD_TYPES.items()
}

# --- agencies (after records: an agency lists its records) ------------------------------
async def _agency_records(
    root: Any,
    info: strawberry.Info[Context, None],
    type: RecordTypeArg | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Connection[Record]:
    """The agency's records of one type (default products), its former agencies' included
    (roll-up), under the caller's visibility like every list."""
    kind = enum_value(type) if type is not None else "products"
    return await list_page(info, kind, first, after, RecordFilter(agency=root.code), "Record")  # type: ignore[return-value]


@fast
def _agency_id(root: Any, info: strawberry.Info[Context, None]) -> strawberry.ID:
    return strawberry.ID(f"agency:{root.code}")


@fast
def _in_force(root: Any, info: strawberry.Info[Context, None]) -> bool:
    return info.context.graph.valid_on(root.code, info.context.today)


def _predecessors(root: Any, info: strawberry.Info[Context, None]) -> list["Agency"]:
    graph = info.context.graph
    return [graph.agencies[c]  # registry rows are the sources
            for c in sorted(graph.predecessors.get(root.code, ()))]


def _successors(root: Any, info: strawberry.Info[Context, None]) -> list["Agency"]:
    graph = info.context.graph
    return [graph.agencies[c]
            for c in sorted(graph.successors.get(root.code, ()))]


def _agency_is_type_of(cls: Any, obj: Any, _info: Any) -> bool:
    return isinstance(obj, AgencyRow)


# The scalar fields are the SQLModel entity's (hub.tables.Agency), as REST shows them; the
# row's bookkeeping (created_at) is not part of the API.
AGENCY_FIELDS = field_annotations(AgencyRow, {}, skip=frozenset({"created_at"}))
Agency: Any = strawberry.type(
    type("Agency", (Node,), {
        "__module__": __name__,
        "__annotations__": {
            "id": strawberry.ID,
            **AGENCY_FIELDS,
            "in_force": bool,
            "predecessors": "list[Agency]",
            "successors": "list[Agency]",
            "records": Connection[Record],
        },
        "id": strawberry.field(resolver=_agency_id),
        "in_force": strawberry.field(resolver=_in_force, description="In force today."),
        "predecessors": strawberry.field(resolver=_predecessors),
        "successors": strawberry.field(resolver=_successors),
        "records": strawberry.field(
            resolver=_agency_records,
            description="The agency's records of one type (default products), former "
            "agencies' included.",
        ),
        "is_type_of": classmethod(_agency_is_type_of),
    }),
    description="An agency of the dated registry: ministry, central body or province. Former "
    "agencies roll up to their successors.",
)


ImportSummary, Rejection = summary_types()


# --- aggregates and the programme -----------------------------------------------------------


@strawberry.type(description="One group of an aggregate: a code (kind, agency, theme, "
                 "language, type) or a month (YYYY-MM), and how many records fall in it.")
class Bucket:
    key: str
    count: int


@strawberry.type(description="A programme indicator against its target (Decision 1079).")
class Indicator:
    code: str
    label_vi: str
    label_en: str
    value: float
    target: float | None
    target_max: float | None
    unit: str
    numerator: int | None
    denominator: int | None


@strawberry.type(description="Training courses, participants and participants by group.")
class TrainingSummary:
    courses: int
    participants: int
    by_group: JSON


@strawberry.type(description="Progress of the programme: indicators, exhibitions by "
                 "province, monthly press briefings per province, training.")
class Programme:
    year: int | None
    agency: str | None
    indicators: list[Indicator]
    exhibitions_by_province: JSON
    press_briefings: JSON = strawberry.field(
        description="Province code -> 12 monthly counts of press briefings in heatmapYear."
    )
    heatmap_year: int
    training: TrainingSummary
    provinces: list[str]

