"""Step 1 of ingest, with no database: validate items against the data standard, normalise
text to NFC, check vocabulary codes and compute the content hash and derived columns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

import schemas
from hub._summary import Rejection

OP_FIELD = "_op"
_SOURCE_ID = re.compile(rf"[^\s{schemas.CONTROL_CHARACTERS}]{{1,200}}")  # as schemas' SourceId


@dataclass(slots=True)
class Prepared:
    """One valid item, ready to be diffed against the database."""

    index: int
    source_id: str
    op: str  # "upsert" | "delete"
    visibility: str = "shared"
    data: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    kind: str | None = None
    title: str = ""
    title_folded: str = ""
    search_text: str = ""
    primary_date: date | None = None
    facets: list[tuple[str, str]] = field(default_factory=list)


def _rejection(index: int, source_id: str | None, problem: Any) -> Rejection:
    return Rejection(
        index, source_id, problem.path, problem.code, problem.message_vi, problem.message_en
    )


def prepare(
    record_type: schemas.RecordType,
    items: Sequence[Any],
    vocabularies: Mapping[str, frozenset[str]],
    *,
    indexes: Sequence[int] | None = None,
) -> tuple[list[Prepared], list[Rejection]]:
    """Validate and normalise items; pure, no database. Later duplicates of a source_id in the
    same batch are rejected: which of two versions is meant cannot be guessed."""
    prepared: list[Prepared] = []
    rejections: list[Rejection] = []
    seen: dict[str, int] = {}
    model = record_type.model
    for offset, raw in enumerate(items):
        index = indexes[offset] if indexes is not None else offset
        if not isinstance(raw, dict):
            rejections.append(
                Rejection(
                    index, None, "", "not_an_object",
                    "Mỗi bản ghi phải là một đối tượng JSON.",
                    "Each record must be a JSON object.",
                )
            )
            continue
        raw_source = raw.get("source_id")
        source_hint = raw_source if isinstance(raw_source, str) else None
        op = raw.get(OP_FIELD, "upsert")
        if op not in ("upsert", "delete"):
            rejections.append(
                Rejection(
                    index, source_hint, OP_FIELD, "invalid_op",
                    "Giá trị _op phải là \"upsert\" hoặc \"delete\".",
                    'The _op value must be "upsert" or "delete".',
                )
            )
            continue
        if op == "delete":
            extra = set(raw) - {"source_id", OP_FIELD}
            if not source_hint or not source_hint.strip() or extra:
                rejections.append(
                    Rejection(
                        index, source_hint, "source_id", "invalid_delete",
                        "Yêu cầu xoá chỉ gồm source_id và _op.",
                        "A delete item holds only source_id and _op.",
                    )
                )
                continue
            if not _SOURCE_ID.fullmatch(schemas.nfc(source_hint.strip())):
                # Same rule as the standard's SourceId: a NUL would also break the lookup on
                # PostgreSQL.
                rejections.append(
                    Rejection(
                        index, source_hint, "source_id", "string_pattern_mismatch",
                        "source_id có 1-200 ký tự, không chứa khoảng trắng hay ký tự điều khiển.",
                        "source_id has 1-200 characters, with no whitespace or control "
                        "characters.",
                    )
                )
                continue
            item = Prepared(index=index, source_id=schemas.nfc(source_hint.strip()), op="delete")
        else:
            payload = {k: v for k, v in raw.items() if k != OP_FIELD}
            try:
                content = model.model_validate(payload)
            except ValidationError as exc:
                rejections.extend(
                    _rejection(index, source_hint, p)
                    for p in schemas.problems_from_validation_error(exc)
                )
                continue
            # One dump per record: every derived value below reads this plain dict.
            source_id, visibility, data = schemas.split_envelope(content)
            problems = schemas.check_vocabularies(record_type, data, vocabularies)
            if problems:
                rejections.extend(_rejection(index, source_hint, p) for p in problems)
                continue
            title = str(data.get("title", ""))
            item = Prepared(
                index=index,
                source_id=source_id,
                op="upsert",
                visibility=visibility,
                data=data,
                content_hash=schemas.hash_data(visibility, data),
                kind=data.get(record_type.kind_field) if record_type.kind_field else None,
                title=title,
                title_folded=schemas.fold(title),
                search_text=record_type.search_text(data),
                primary_date=record_type.primary_date(data),
                facets=sorted(set(record_type.facets(data))),
            )
        if item.source_id in seen:
            rejections.append(
                Rejection(
                    index, item.source_id, "source_id", "duplicate_in_batch",
                    f"source_id lặp lại trong lô (đã có ở vị trí {seen[item.source_id]}).",
                    f"source_id repeated in the batch (first at index {seen[item.source_id]}).",
                )
            )
            continue
        seen[item.source_id] = index
        prepared.append(item)
    return prepared, rejections
