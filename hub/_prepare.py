"""Step 1 of ingest, with no database: validate items against the data standard, normalise
text to NFC, check vocabulary codes and compute the content hash and derived columns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pydantic import AwareDatetime, TypeAdapter, ValidationError

import schemas
from hub._registry import CodeRegistry
from hub._summary import Rejection

OP_FIELD = "_op"
_SOURCE_UPDATED_AT = "source_updated_at"
_STAMP: TypeAdapter[AwareDatetime | None] = TypeAdapter(AwareDatetime | None)


def _source_updated_at(value: Any) -> str | None:
    """A delete item's ``source_updated_at``, checked as the standard checks an upsert's."""
    if value is None:
        return None
    stamp = _STAMP.validate_python(value)
    return stamp.isoformat() if stamp is not None else None
_SOURCE_ID = re.compile(rf"[^\s{schemas.CONTROL_CHARACTERS}]{{1,200}}")  # as schemas' SourceId


@dataclass(slots=True)
class Prepared:
    """One valid item, ready to be diffed against the database."""

    index: int
    source_id: str
    op: str  # "upsert" | "delete"
    visibility: str = "shared"
    data: dict[str, Any] = field(default_factory=dict)
    # ``data`` encoded once, here, outside the change-feed lock: the record's row and its
    # change-log row both take it as it is.
    # (A Fragment has no equality of its own: two Prepared compare by ``data``.)
    data_json: orjson.Fragment = field(
        default_factory=lambda: orjson.Fragment(b"{}"), compare=False, repr=False
    )
    content_hash: str = ""
    kind: str | None = None
    title: str = ""
    title_folded: str = ""
    search_text: str = ""
    primary_date: date | None = None
    facets: list[tuple[str, str]] = field(default_factory=list)
    # The source system's own last-update time (ISO 8601 with offset), for the provenance.
    source_updated_at: str | None = None


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
    registry: CodeRegistry | None = None,
) -> tuple[list[Prepared], list[Rejection]]:
    """Validate and normalise items; pure, no database. Later duplicates of a source_id in the
    same batch are rejected: which of two versions is meant cannot be guessed. With a
    ``registry``, agency and province codes are checked against it (``REGISTRY_FIELDS``)."""
    batch = PreparedBatch(record_type, vocabularies, registry)
    batch.add(items, indexes=indexes)
    return batch.prepared, batch.rejections


class PreparedBatch:
    """``prepare`` in slices: the ingest pipeline adds a batch a slice at a time and lets the
    event loop run between slices, so a batch holding the change-feed lock is not kept
    waiting behind another batch's validation (a thousand records take ~100 ms of CPU)."""

    def __init__(
        self,
        record_type: schemas.RecordType,
        vocabularies: Mapping[str, frozenset[str]],
        registry: CodeRegistry | None = None,
    ) -> None:
        self.record_type = record_type
        self.vocabularies = vocabularies
        self.registry = registry
        self._registry_fields = record_type.model.REGISTRY_FIELDS if registry else {}
        # A record without a date has its codes checked as of the day it arrives.
        self._today = datetime.now(UTC).date()
        self.prepared: list[Prepared] = []
        self.rejections: list[Rejection] = []
        self._seen: dict[str, int] = {}

    def add(self, items: Sequence[Any], *, indexes: Sequence[int] | None = None,
            first: int = 0) -> None:
        """Prepare ``items``; an item's index is ``indexes[offset]`` if given, else
        ``first + offset``."""
        for offset, raw in enumerate(items):
            index = indexes[offset] if indexes is not None else first + offset
            item = self._one(index, raw)
            if item is None:
                continue
            if item.source_id in self._seen:
                first_at = self._seen[item.source_id]
                self.rejections.append(
                    Rejection(
                        index, item.source_id, "source_id", "duplicate_in_batch",
                        f"source_id lặp lại trong lô (đã có ở vị trí {first_at}).",
                        f"source_id repeated in the batch (first at index {first_at}).",
                    )
                )
                continue
            self._seen[item.source_id] = index
            self.prepared.append(item)

    def _one(self, index: int, raw: Any) -> Prepared | None:
        """One item prepared, or None with its rejections recorded."""
        rejections = self.rejections
        if not isinstance(raw, dict):
            rejections.append(
                Rejection(
                    index, None, "", "not_an_object",
                    "Mỗi bản ghi phải là một đối tượng JSON.",
                    "Each record must be a JSON object.",
                )
            )
            return None
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
            return None
        if op == "delete":
            extra = set(raw) - {"source_id", OP_FIELD, _SOURCE_UPDATED_AT}
            if not source_hint or not source_hint.strip() or extra:
                rejections.append(
                    Rejection(
                        index, source_hint, "source_id", "invalid_delete",
                        "Yêu cầu xoá chỉ gồm source_id và _op.",
                        "A delete item holds only source_id and _op.",
                    )
                )
                return None
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
                return None
            try:
                updated_at = _source_updated_at(raw.get(_SOURCE_UPDATED_AT))
            except ValidationError:
                rejections.append(
                    Rejection(
                        index, source_hint, _SOURCE_UPDATED_AT, "datetime_with_offset",
                        "source_updated_at phải là thời điểm ISO 8601 có múi giờ.",
                        "source_updated_at must be an ISO 8601 time with an offset.",
                    )
                )
                return None
            return Prepared(index=index, source_id=schemas.nfc(source_hint.strip()), op="delete",
                            source_updated_at=updated_at)
        record_type = self.record_type
        payload = {k: v for k, v in raw.items() if k != OP_FIELD}
        try:
            content = record_type.model.model_validate(payload)
        except ValidationError as exc:
            rejections.extend(
                self._with_suggestions(raw, _rejection(index, source_hint, p))
                for p in schemas.problems_from_validation_error(exc)
            )
            return None
        # One dump per record: every derived value below reads this plain dict.
        source_id, visibility, data = schemas.split_envelope(content)
        problems = schemas.check_vocabularies(record_type, data, self.vocabularies)
        if problems:
            rejections.extend(_rejection(index, source_hint, p) for p in problems)
            return None
        primary_date = record_type.primary_date(data)
        if self._registry_fields:
            found = self._check_codes(index, source_hint, data, primary_date)
            if found:
                rejections.extend(found)
                return None
        title = str(data.get("title", ""))
        return Prepared(
            index=index,
            source_id=source_id,
            op="upsert",
            visibility=visibility,
            data=data,
            data_json=orjson.Fragment(orjson.dumps(data)),
            content_hash=schemas.hash_data(visibility, data),
            kind=data.get(record_type.kind_field) if record_type.kind_field else None,
            title=title,
            title_folded=schemas.fold(title),
            search_text=record_type.search_text(data),
            primary_date=primary_date,
            facets=sorted(set(record_type.facets(data))),
            source_updated_at=(content.source_updated_at.isoformat()
                               if content.source_updated_at is not None else None),
        )

    def _check_codes(
        self, index: int, source_id: str | None, data: Mapping[str, Any], day: date | None
    ) -> list[Rejection]:
        """A rejection for every agency or province code not in force on the record's primary
        date (or today, for a record without one)."""
        assert self.registry is not None
        found = []
        for field_name, level in self._registry_fields.items():
            value = data.get(field_name)
            if not isinstance(value, str):
                continue
            problem = self.registry.check(level, value, day or self._today)
            if problem is not None:
                found.append(Rejection(index, source_id, field_name, problem.code,
                                       problem.message_vi, problem.message_en))
        return found

    def _with_suggestions(self, raw: Mapping[str, Any], rejection: Rejection) -> Rejection:
        """A registry field whose value is not even shaped like a code (``"Hà Giang"``): the
        standard's message, with the nearest codes (names match without diacritics)."""
        level = self._registry_fields.get(rejection.path)
        value = raw.get(rejection.path)
        if level is None or not isinstance(value, str) or not value.strip():
            return rejection
        assert self.registry is not None
        near = self.registry.nearest(level, value, self._raw_date(raw))
        if not near:
            return rejection
        listed = ", ".join(f"{a.code} ({a.name})" for a in near)
        rejection.message_vi = f"{rejection.message_vi.rstrip('.')}; gần nhất: {listed}."
        rejection.message_en = f"{rejection.message_en.rstrip('.')}; nearest: {listed}."
        return rejection

    def _raw_date(self, raw: Mapping[str, Any]) -> date:
        """The primary date of a record that failed validation, if it can be read."""
        for field_name, how in self.record_type.model.DATE_FIELDS:
            value = raw.get(field_name)
            try:
                if how == "year" and isinstance(value, int):
                    return date(value, 1, 1)
                if isinstance(value, str):
                    return date.fromisoformat(value)
            except ValueError:
                continue
        return self._today
