"""One router per record family, all built by :func:`record_router` over the one ingest
pipeline. Handlers parse and answer; the pipeline and the query service decide."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

import schemas
from gateway._wire import RecordPage
from gateway.deps import HubDep, Reader, SessionDep, Writer
from gateway.http._json import JSON
from gateway.http._ndjson import ingest_ndjson
from gateway.http._params import (
    AgencyCode,
    Cursor,
    IdempotencyKeyHeader,
    IfMatchHeader,
    IfNoneMatchHeader,
    IsoDate,
    IsoDateTime,
    SearchText,
    SourceIdPath,
    VocabCode,
)
from gateway.http._problems import batch_rejected
from gateway.http._query import QueryModel
from hub import (
    IdempotencyRequest,
    ImportSummary,
    InvalidInput,
    NotFound,
    RecordFilter,
    StoredAnswer,
    UnsupportedMediaType,
    ValidationFailed,
    batch_too_large,
    current_file_lists,
    decode_json,
    envelope,
    etag_for,
    get_record,
    list_records,
    request_hash,
)

PROBLEM_JSON = "application/problem+json"
# Problems are served as application/problem+json (RFC 9457), so the schema is declared under
# that media type; a "model" would be put under application/json. gateway.app adds Problem to
# the components.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": text,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, text in (
        (400, "Invalid input"),
        (401, "Unauthenticated"),
        (403, "Forbidden"),
        (404, "Not found"),
        (412, "Precondition failed"),
        (413, "Payload too large"),
        (415, "Unsupported media type"),
        (422, "Record does not meet the data standard"),
    )
}
# A batch that wrote nothing: the problem carries the import summary (and the same status
# answers a reused Idempotency-Key with another body).
BATCH_REJECTED: dict[str, Any] = {
    "description": "Nothing written: every record rejected, or one of an atomic batch (the "
    "problem's summary lists them); or an Idempotency-Key reused with another body",
    "content": {PROBLEM_JSON: {"schema": {"allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {"type": "object", "properties": {
            "summary": {"$ref": "#/components/schemas/ImportSummary"}}},
    ]}}},
}
JSON_TYPES = ("application/json", "")
NDJSON = "application/x-ndjson"


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _batch_records(body: bytes, limit: int) -> list[Any]:
    payload = decode_json(body)
    if not isinstance(payload, dict) or set(payload) != {"records"}:
        raise InvalidInput(
            'Nội dung phải là đối tượng {"records": [...]} và không có trường nào khác.',
            'The body must be an object {"records": [...]} with no other field.',
        )
    records = payload["records"]
    if not isinstance(records, list):
        raise InvalidInput("records phải là một mảng.", "records must be an array.")
    if len(records) > limit:  # the pipeline's limit, checked early to say what to do instead
        raise batch_too_large(len(records), limit, hint=(
            "Hãy chia nhỏ hoặc gửi NDJSON (Content-Type: application/x-ndjson).",
            "Split it or stream NDJSON (Content-Type: application/x-ndjson)."))
    return records


def _summary_response(request: Request, result: ImportSummary | StoredAnswer) -> Response:
    """The batch's answer: 200 with the summary (status "ok" or "partial"), or a 422 problem
    carrying it when nothing was taken; a replay (Idempotency-Key) answers the same."""
    if isinstance(result, StoredAnswer):
        replayed = {"Idempotent-Replayed": "true"}
        if result.status_code == 422:
            return batch_rejected(request, result.body, headers=replayed)
        return JSON(result.body, status_code=result.status_code, headers=replayed)
    if result.http_status == 422:
        return batch_rejected(request, result.as_dict())
    return JSON(result.as_dict())


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # e.g. 0001-01-01T00:00+05:00: out of datetime's range in UTC, so before (or after)
        # every stored time; the driver would fail on it.
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


def _reject_if_failed(summary: ImportSummary | StoredAnswer) -> ImportSummary:
    assert isinstance(summary, ImportSummary)
    if summary.rejections:
        if any(r.code == "not_found" for r in summary.rejections):
            first = summary.rejections[0]
            raise NotFound(first.message_vi, first.message_en)
        raise ValidationFailed(
            "Bản ghi không đạt chuẩn dữ liệu; xem danh sách errors.",
            "The record does not meet the data standard; see the errors list.",
            errors=[r.as_dict() for r in summary.rejections],
        )
    return summary


def batch_request_schema(record_type: schemas.RecordType) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{record_type.model.__name__}"}
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["records"],
                    "additionalProperties": False,
                    "properties": {"records": {"type": "array", "maxItems": 1000, "items": ref}},
                }
            },
            NDJSON: {"schema": {"type": "string", "description": "One record per line."}},
        },
    }


def put_body_schema(record_type: schemas.RecordType) -> dict[str, Any]:
    """The record type's schema with ``source_id`` optional: PUT takes it from the path (a
    ``source_id`` in the body must be the same)."""
    schema = record_type.model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)  # the same definitions are components (gateway.app)
    schema["required"] = [f for f in schema.get("required", []) if f != "source_id"]
    return schema


class RecordListQuery(BaseModel):
    """The filters of a record list, read from the query string in one validation
    (:class:`~gateway.http._query.QueryModel`)."""

    agency: AgencyCode = None
    kind: VocabCode = None
    theme: VocabCode = None
    language: VocabCode = None
    target_group: VocabCode = None
    channel: VocabCode = None
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    updated_since: IsoDateTime | None = None
    q: SearchText = None
    include_deleted: bool = False
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None
    cursor: Cursor = None


LIST_QUERY = QueryModel(RecordListQuery)


def record_router(record_type: schemas.RecordType) -> APIRouter:
    name = record_type.name
    router = APIRouter(prefix=f"/{name}", tags=[record_type.label_en], responses=PROBLEMS)

    @router.post(
        ":batch",
        name=f"{name}_batch",
        summary=f"Upsert or delete up to 1,000 {name} (or stream NDJSON)",
        response_model=schemas.ImportSummary,
        responses={422: BATCH_REJECTED},
        openapi_extra={"requestBody": batch_request_schema(record_type)},
    )
    async def batch(
        request: Request,
        principal: Writer,
        hub: HubDep,
        idempotency_key: IdempotencyKeyHeader = None,
        dry_run: Annotated[bool, Query(alias="dryRun")] = False,
        atomic: Annotated[bool, Query(
            description="All or nothing: when any record is rejected, none is written "
            "(422). JSON batches only: an NDJSON stream answers 400.",
        )] = False,
    ) -> Response:
        """Each item is a record of the standard; ``{"source_id": ..., "_op": "delete"}``
        writes a tombstone. Valid items are stored even when others are rejected (200,
        ``"status": "partial"``) unless ``atomic=true``; a batch that writes nothing because
        of rejections answers 422, a problem carrying the summary."""
        media = _media_type(request)
        if media == NDJSON:
            if atomic:
                raise InvalidInput(
                    "atomic=true không dùng được với NDJSON: luồng được ghi theo từng phần "
                    "1.000 bản ghi. Hãy gửi lô JSON (tối đa 1.000 bản ghi).",
                    "atomic=true is not available for NDJSON: a stream is written 1,000 "
                    "records at a time. Send a JSON batch (up to 1,000 records) instead.",
                )
            result = await ingest_ndjson(
                request, hub, principal, name, dry_run=dry_run, idempotency_key=idempotency_key
            )
            return _summary_response(request, result)
        if media not in JSON_TYPES:
            raise UnsupportedMediaType(
                "Kiểu nội dung không được hỗ trợ: dùng application/json hoặc application/x-ndjson.",
                "Unsupported content type: use application/json or application/x-ndjson.",
            )
        body = await request.body()
        records = _batch_records(body, hub.ingest.max_batch)
        idem = None
        if idempotency_key is not None and not dry_run:
            # An atomic batch is another request than the same body without it.
            parts = (name, "atomic", body) if atomic else (name, body)
            idem = IdempotencyRequest(idempotency_key, request_hash(*parts))
        result = await hub.ingest.ingest(
            principal, name, records, dry_run=dry_run, batch_id=uuid.uuid4().hex,
            idempotency=idem, atomic=atomic,
        )
        return _summary_response(request, result)

    @router.get("", name=f"{name}_list", summary=f"List {name}", response_model=RecordPage,
                openapi_extra={"parameters": LIST_QUERY.openapi_parameters()})
    async def list_(
        principal: Reader,
        hub: HubDep,
        query: Annotated[RecordListQuery, Depends(LIST_QUERY)],
    ) -> Response:
        """Filter by agency (former agencies roll up to their successors), kind, vocabulary
        codes, dates and text. Pages are capped at the configured maximum."""
        settings = hub.settings
        size = min(query.limit or settings.default_page_size, settings.max_page_size)
        flt = RecordFilter(
            agency=query.agency, kind=query.kind, theme=query.theme, language=query.language,
            target_group=query.target_group, channel=query.channel,
            date_from=query.date_from, date_to=query.date_to,
            updated_since=_utc(query.updated_since), q=query.q,
            include_deleted=query.include_deleted,
        )
        graph = await hub.catalog.agencies()
        async with hub.db.read() as connection:  # SELECTs only: no transaction needed
            page = await list_records(
                connection, principal, graph, name, flt, limit=size, cursor=query.cursor,
                content_text=True, with_files=True,
            )
        files = page.files or {}
        return JSON({"items": [envelope(r, files[r.id]) for r in page.items],
                     "next_cursor": page.next_cursor})

    @router.get(
        "/{source_id:path}",
        name=f"{name}_get",
        summary=f"Read one of {name} by its source_id",
        response_model=schemas.RecordEnvelope,
        responses={304: {"description": "Not modified"}},
    )
    async def get_one(
        source_id: SourceIdPath,
        principal: Reader,
        hub: HubDep,
        session: SessionDep,
        agency: AgencyCode = None,
        if_none_match: IfNoneMatchHeader = None,
    ) -> Response:
        source_id = schemas.nfc(source_id)  # stored in NFC, whatever form the URL used
        graph = await hub.catalog.agencies()
        record = await get_record(
            session, principal, graph, name, owner=agency or principal.agency,
            source_id=source_id,
        )
        if record is None:
            raise NotFound(
                f"Không tìm thấy bản ghi {name}/{source_id}.",
                f"Record {name}/{source_id} not found.",
            )
        etag = etag_for(record.version, record.content_hash)
        if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
            return Response(status_code=304, headers={"ETag": etag})
        files = (await current_file_lists(session, [record.id]))[record.id]
        return JSON(envelope(record, files), headers={"ETag": etag})

    @router.put(
        "/{source_id:path}",
        name=f"{name}_put",
        summary=f"Create or replace one of {name}",
        response_model=schemas.RecordEnvelope,
        responses={201: {"model": schemas.RecordEnvelope, "description": "Created"}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": put_body_schema(record_type)}},
            }
        },
    )
    async def put_one(
        request: Request,
        source_id: SourceIdPath,
        principal: Writer,
        hub: HubDep,
        session: SessionDep,
        if_match: IfMatchHeader = None,
    ) -> Response:
        """``If-Match`` with the ETag of the last read prevents lost updates (RFC 9110 §13.1.1);
        ``If-Match: *`` updates only an existing record."""
        source_id = schemas.nfc(source_id)  # the pipeline stores it in NFC
        if _media_type(request) not in JSON_TYPES:
            raise UnsupportedMediaType(
                "Kiểu nội dung không được hỗ trợ: dùng application/json hoặc application/x-ndjson.",
                "Unsupported content type: use application/json or application/x-ndjson.",
            )
        body = decode_json(await request.body())
        if not isinstance(body, dict):
            raise InvalidInput(
                "Nội dung phải là một đối tượng JSON.", "The body must be a JSON object."
            )
        body_id = body.get("source_id", source_id)
        if (schemas.nfc(body_id) if isinstance(body_id, str) else body_id) != source_id:
            raise InvalidInput(
                "source_id trong nội dung khác với source_id trên đường dẫn.",
                "The source_id in the body differs from the one in the path.",
            )
        if "_op" in body:
            raise InvalidInput(
                "Không dùng _op với PUT; hãy dùng DELETE.", "Do not send _op with PUT; use DELETE."
            )
        summary = _reject_if_failed(
            await hub.ingest.ingest(
                principal, name, [{**body, "source_id": source_id}], if_match=if_match,
                batch_id=uuid.uuid4().hex, action="records.put",
            )
        )
        graph = await hub.catalog.agencies()
        record = None
        # Own record first, then one inherited from an agency it succeeded (auth._policy).
        for owner in [principal.agency, *sorted(graph.rolled_up(principal.agency)
                                                 - {principal.agency})]:
            record = await get_record(
                session, principal, graph, name, owner=owner, source_id=source_id
            )
            if record is not None:
                break
        assert record is not None
        files = (await current_file_lists(session, [record.id]))[record.id]
        return JSON(
            envelope(record, files),
            status_code=201 if summary.created else 200,
            headers={"ETag": etag_for(record.version, record.content_hash)},
        )

    @router.delete(
        "/{source_id:path}",
        name=f"{name}_delete",
        summary=f"Delete one of {name} (writes a tombstone)",
        status_code=204,
        response_class=Response,
    )
    async def delete_one(
        source_id: SourceIdPath,
        principal: Writer,
        hub: HubDep,
        if_match: IfMatchHeader = None,
    ) -> Response:
        _reject_if_failed(
            await hub.ingest.ingest(
                principal, name, [{"source_id": source_id, "_op": "delete"}], if_match=if_match,
                batch_id=uuid.uuid4().hex, action="records.delete",
            )
        )
        return Response(status_code=204)

    return router
