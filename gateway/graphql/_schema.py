"""Query and Mutation roots, and the schema with its limits.

Every root field checks the caller's scope through the one policy (``auth._policy``):
``records:read`` for queries, ``records:write`` for mutations. Nested fields are only reached
through a root field, and every record they return passes the same visibility rule as REST
(``hub._query.visible_to``): lists, relations and node(id:) alike.

No ``from __future__ import annotations``: resolvers are built per record type at import time
and their annotations must be the generated classes themselves.
"""

import functools
import re
import uuid
from datetime import date
from typing import Any

import orjson
import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import schemas
from auth import RECORDS_READ, RECORDS_WRITE
from gateway.graphql._context import Context
from gateway.graphql._errors import is_unexpected, log_errors
from gateway.graphql._fast import FastExecutionContext
from gateway.graphql._lists import (
    CODE,
    HEADER_TEXT,
    KEY_TEXT,
    RecordFilterInput,
    check,
    enum_value,
    list_page,
    record_filter,
)
from gateway.graphql._loaders import record_source
from gateway.graphql._prepared import PreparedQueries, remember_queries
from gateway.graphql._projection import selected_fields
from gateway.graphql._scalars import SCALARS, Date
from gateway.graphql._standard import input_part_types, input_to_data, record_input_type, type_name
from gateway.graphql._types import (
    RECORD_OBJECTS,
    Agency,
    Bucket,
    Connection,
    ImportSummary,
    Node,
    Programme,
    Record,
    RecordTypeArg,
    Vocabulary,
    default_resolver,
)
from gateway.routers.reference import _vocabularies
from hub import (
    IdempotencyRequest,
    InvalidInput,
    RecordFilter,
    Settings,
    StoredAnswer,
    dashboard_counts,
    get_record,
    get_record_by_id,
    programme_progress,
    request_hash,
)

Info = strawberry.Info[Context, None]
CACHE_SIZE = 256  # distinct documents kept parsed and validated (bounded: texts are untrusted)
def _list_field(record_type: schemas.RecordType) -> Any:
    cls = RECORD_OBJECTS[record_type.name]

    async def resolve(
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: RecordFilterInput | None = None,
    ) -> Connection[cls]:  # type: ignore[valid-type]
        return await list_page(info, record_type.name, first, after, record_filter(filter),  # type: ignore[return-value]
                               type_name(record_type))

    return strawberry.field(
        resolver=resolve,
        description=f"{record_type.label_en} ({record_type.label_vi}), newest change first; "
        f"`first` up to the configured page cap, `after` = a cursor from this list.",
    )


# --- agencies, vocabularies, aggregates -----------------------------------------------------


# The fields of RecordStats by the counts they read (hub.dashboard_counts).
STATS_FIELDS = {"total": "total", "byType": "type", "byKind": "kind", "byAgency": "agency",
                "byTheme": "theme", "byLanguage": "language", "byMonth": "month"}


@strawberry.type(description="Record counts for dashboards, under the same visibility and "
                 "filters as the lists; only the groupings asked for are computed, all from "
                 "one snapshot (the total is the sum of the kinds).")
class RecordStats:
    counts: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="How many records match.")
    def total(self) -> int:
        return self.counts["total"]

    @strawberry.field(description="By record type.")
    def by_type(self) -> list[Bucket]:
        return self.counts["type"]

    @strawberry.field(description="By kind (product kind, event kind, training form...).")
    def by_kind(self) -> list[Bucket]:
        return self.counts["kind"]

    @strawberry.field(description="By agency in force today (former agencies rolled up).")
    def by_agency(self) -> list[Bucket]:
        return self.counts["agency"]

    @strawberry.field(description="By content theme (a record counts once per theme).")
    def by_theme(self) -> list[Bucket]:
        return self.counts["theme"]

    @strawberry.field(description="By language (a record counts once per language).")
    def by_language(self) -> list[Bucket]:
        return self.counts["language"]

    @strawberry.field(description="By month of the record's primary date (YYYY-MM).")
    def by_month(self) -> list[Bucket]:
        return self.counts["month"]


async def record_stats(info: Info, record_type: str | None, flt: RecordFilter) -> RecordStats:
    """The counts the selection asks for, in one statement (one snapshot)."""
    wanted = {STATS_FIELDS[f.name] for f in selected_fields(info.selected_fields)
              if f.name in STATS_FIELDS}
    context = info.context
    async with context.hub.db.read_session() as session:
        counts = await dashboard_counts(session, context.principal, context.graph, record_type,
                                        flt, wanted, today=context.today)
    return RecordStats(counts=counts)


def _vocabulary_source(found: dict[str, Any]) -> dict[str, Any]:
    name = found["name"]
    return {**found, "id": f"vocabulary:{name}", "_kind": "vocabulary",
            "terms": [{**t, "vocabulary": name} for t in found["terms"]]}


Vocabulary.is_type_of = classmethod(  # type: ignore[attr-defined]
    lambda cls, obj, _info: type(obj) is dict and obj.get("_kind") == "vocabulary"
)
Vocabulary.__strawberry_definition__.is_type_of = Vocabulary.is_type_of  # type: ignore[attr-defined]


async def _vocabulary(info: Info, name: str) -> dict[str, Any] | None:
    info.context.require(RECORDS_READ)
    check(name, CODE, "name")
    async with info.context.hub.db.read_session() as session:
        found = await _vocabularies(session, name)
    return _vocabulary_source(found[0]) if found else None


def _query_fields() -> dict[str, Any]:
    return {
        (type_name(rt)[0].lower() + type_name(rt)[1:] + "s"
         if rt.name != "training-courses" else "trainingCourses"): _list_field(rt)
        for rt in schemas.RECORD_TYPES.values()
    }


@strawberry.type
class _QueryBase:
    @strawberry.field(description="Any object by its global id: a record's id (UUID), "
                      "agency:<code> or vocabulary:<name>. Null when not found or not visible.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        context = info.context
        context.require(RECORDS_READ)
        text = str(id)
        if text.startswith("agency:"):
            return context.graph.agencies.get(text[7:])  # type: ignore[return-value]
        if text.startswith("vocabulary:"):
            return await _vocabulary(info, text[11:])  # type: ignore[return-value]
        try:
            record_id = str(uuid.UUID(text))
        except ValueError:
            return None
        async with context.hub.db.read_session() as session:
            found = await get_record_by_id(session, context.principal, context.graph, record_id)
        return None if found is None or found.deleted else record_source(found)  # type: ignore[return-value]

    @strawberry.field(description="One record by its type and the agency's own id "
                      "(agency: the owner, default the caller's agency).")
    async def record(
        self, info: Info, type: RecordTypeArg, source_id: str, agency: str | None = None
    ) -> Record | None:
        context = info.context
        context.require(RECORDS_READ)
        check(agency, CODE, "agency")
        async with context.hub.db.read_session() as session:
            found = await get_record(
                session, context.principal, context.graph, enum_value(type),
                owner=agency or context.principal.agency, source_id=schemas.nfc(source_id),
            )
        return None if found is None or found.deleted else record_source(found)

    @strawberry.field(description="The agency registry as of a date (default today).")
    def agencies(
        self, info: Info, as_of: Date | None = None, include_former: bool = False,
        level: str | None = None,
    ) -> list[Agency]:
        context = info.context
        context.require(RECORDS_READ)
        graph = context.graph
        day: date = as_of or context.today  # type: ignore[assignment]
        chosen = graph.agencies.values() if include_former else graph.as_of(day)
        return [a for a in sorted(chosen, key=lambda a: (a.level, a.code))
                if level is None or a.level == level]

    @strawberry.field(description="One agency, with its predecessors and successors.")
    def agency(self, info: Info, code: str) -> Agency | None:
        info.context.require(RECORDS_READ)
        return info.context.graph.agencies.get(code)

    @strawberry.field(description="Every vocabulary with its terms.")
    async def vocabularies(self, info: Info) -> list[Vocabulary]:
        info.context.require(RECORDS_READ)
        async with info.context.hub.db.read_session() as session:
            return [_vocabulary_source(v) for v in await _vocabularies(session, None)]  # type: ignore[misc]

    @strawberry.field(description="One vocabulary by name (theme, language, product_kind...).")
    async def vocabulary(self, info: Info, name: str) -> Vocabulary | None:
        return await _vocabulary(info, name)  # type: ignore[return-value]

    @strawberry.field(description="Aggregates for dashboards: counts by type, kind, agency "
                      "(rolled up), theme, language and month, with the list filters.")
    async def stats(
        self, info: Info, type: RecordTypeArg | None = None,
        filter: RecordFilterInput | None = None,
    ) -> RecordStats:
        info.context.require(RECORDS_READ)
        return await record_stats(info, enum_value(type) if type is not None else None,
                                  record_filter(filter))

    @strawberry.field(description="Progress against the programme's targets (Decision "
                      "1079/QĐ-TTg), for a year and an agency (rolled up), over what the "
                      "caller may read.")
    async def programme(
        self, info: Info, year: int | None = None, agency: str | None = None
    ) -> Programme:
        context = info.context
        context.require(RECORDS_READ)
        if year is not None and not _year_ok(year):
            raise InvalidInput("Năm không hợp lệ (1945–2100).", "Invalid year (1945–2100).")
        if agency is not None and not context.graph.exists(agency):
            raise InvalidInput(f"Cơ quan {agency} không có trong danh mục.",
                               f"Agency {agency} is not in the registry.")
        return await programme_progress(  # type: ignore[return-value]
            context.hub, year=year, agency=agency, principal=context.principal,
            today=context.today,
        )


def _year_ok(year: int) -> bool:
    return 1945 <= year <= 2100


Query: Any = strawberry.type(
    type("Query", (_QueryBase,), _query_fields()),
    description="Read the shared data: every record type, agencies, vocabularies, aggregates.",
)


# --- mutations ------------------------------------------------------------------------------


def _summary(result: Any) -> dict[str, Any]:
    return result.body if isinstance(result, StoredAnswer) else result.as_dict()


async def _ingest(
    info: Info, record_type: str, items: list[Any], *, dry_run: bool = False,
    if_match: str | None = None, idempotency_key: str | None = None, action: str,
    atomic: bool = False,
) -> dict[str, Any]:
    context = info.context
    context.require(RECORDS_WRITE)
    # The batch's size is the pipeline's to check (IngestPipeline.max_batch).
    check(if_match, HEADER_TEXT, "ifMatch")
    check(idempotency_key, KEY_TEXT, "idempotencyKey")
    idempotency = None
    if idempotency_key is not None and not dry_run:
        body = orjson.dumps(items, option=orjson.OPT_SORT_KEYS)
        parts = ("graphql", record_type, "atomic", body) if atomic else (
            "graphql", record_type, body)
        idempotency = IdempotencyRequest(idempotency_key, request_hash(*parts))
    result = await context.hub.ingest.ingest(
        context.principal, record_type, items, dry_run=dry_run, batch_id=uuid.uuid4().hex,
        idempotency=idempotency, if_match=if_match, action=action, atomic=atomic,
    )
    return _summary(result)


def _mutation_fields(record_type: schemas.RecordType, input_cls: Any) -> dict[str, Any]:
    name = type_name(record_type)
    plural = "trainingCourses" if record_type.name == "training-courses" else f"{name}s"
    plural = plural[0].upper() + plural[1:]
    kind = record_type.name

    async def upsert_one(
        info: Info, record: input_cls, if_match: str | None = None,
        dry_run: bool = False,
    ) -> ImportSummary:
        return await _ingest(info, kind, [input_to_data(record)], dry_run=dry_run,
                             if_match=if_match, action="records.put")

    async def upsert_many(
        info: Info, records: list[input_cls], dry_run: bool = False,
        idempotency_key: str | None = None, atomic: bool = False,
    ) -> ImportSummary:
        return await _ingest(info, kind, input_to_data(records), dry_run=dry_run,
                             idempotency_key=idempotency_key, action="records.batch",
                             atomic=atomic)

    async def delete_one(
        info: Info, source_id: str, if_match: str | None = None
    ) -> ImportSummary:
        return await _ingest(info, kind, [{"source_id": source_id, "_op": "delete"}],
                             if_match=if_match, action="records.delete")

    label = f"{record_type.label_en.lower()}"
    return {
        f"upsert_{_snake(name)}": strawberry.mutation(
            resolver=upsert_one,
            description=f"Create or replace one of the {label}; ifMatch = an ETag-like "
            "'\"version-hash\"' guards against lost updates.",
        ),
        f"upsert_{_snake(plural)}": strawberry.mutation(
            resolver=upsert_many,
            description=f"Upsert up to the batch limit of {label}; the valid ones are stored "
            "even when others are rejected (status partial), unless atomic: true (all or "
            "nothing; status rejected when any is). idempotencyKey makes a retry safe.",
        ),
        f"delete_{_snake(name)}": strawberry.mutation(
            resolver=delete_one, description=f"Delete one of the {label} (a tombstone)."
        ),
    }


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_INPUT_PARTS = input_part_types()
Mutation: Any = strawberry.type(
    type("Mutation", (), {
        k: v
        for rt in schemas.RECORD_TYPES.values()
        for k, v in _mutation_fields(rt, record_input_type(rt, _INPUT_PARTS)).items()
    }),
    description="Write through the one ingest pipeline; every mutation answers the import "
    "summary REST answers.",
)


# --- the schema -----------------------------------------------------------------------------


class HubSchema(strawberry.Schema):
    # The query documents already validated for this schema (see _prepared).
    prepared: PreparedQueries

    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        log_errors(errors)


def extensions(*, max_depth: int, max_aliases: int, introspection: bool, max_tokens: int,
               production: bool, prepared: PreparedQueries) -> list[Any]:
    """The document limits and caches, in the order they apply. Factories, so no extension
    instance is shared between concurrent requests; the validation rules are built once, so
    the validation cache recognises a document it has already validated."""
    rules = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
        *([] if introspection else DisableIntrospection().validation_rules),
    ]
    chosen: list[Any] = []
    if production:
        chosen.append(lambda: MaskErrors(
            should_mask_error=is_unexpected,
            error_message="Lỗi máy chủ không mong đợi. / Unexpected server error.",
        ))
    chosen += [
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        remember_queries(prepared),  # last: it sees only what every other check let through
    ]
    return chosen


def build_schema(settings: Settings) -> HubSchema:
    """The schema for ``settings``; built once per combination of the settings it depends on
    (building takes ~0.25 s, and the test suite creates an app per test)."""
    return _build_schema(settings.graphql_max_depth, settings.graphql_max_aliases,
                         settings.graphql_introspection_on, settings.graphql_max_tokens,
                         settings.environment == "production", settings.graphql_fast_path)


@functools.lru_cache(maxsize=8)
def _build_schema(max_depth: int, max_aliases: int, introspection: bool, max_tokens: int,
                  production: bool, fast: bool) -> HubSchema:
    prepared = PreparedQueries(CACHE_SIZE)
    schema = HubSchema(
        query=Query,
        mutation=Mutation,
        types=list(RECORD_OBJECTS.values()),
        extensions=extensions(max_depth=max_depth, max_aliases=max_aliases,
                              introspection=introspection, max_tokens=max_tokens,
                              production=production, prepared=prepared),
        execution_context_class=(
            FastExecutionContext if fast else StrawberryGraphQLCoreExecutionContext
        ),
        config=StrawberryConfig(
            default_resolver=default_resolver, scalar_map=SCALARS, sort_schema=True
        ),
    )
    schema.prepared = prepared
    return schema


def print_sdl() -> str:
    """The schema in SDL, for openapi/schema.graphql (the same whatever the settings)."""
    return build_schema(Settings(environment="test")).as_str() + "\n"


