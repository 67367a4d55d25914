"""The record types of the data standard and what the hub derives from their content."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_origin

from pydantic import BaseModel

from ._problems import FieldProblem, shorten
from ._records import (
    Award,
    Budget,
    Event,
    Plan,
    Product,
    RecordContent,
    Report,
    TrainingCourse,
)
from ._text import fold

RecordTypeName = Literal[
    "products", "training-courses", "events", "awards", "plans", "budgets", "reports"
]

Content = BaseModel | Mapping[str, Any]
"""A validated content model, or its stored JSON-mode dict (`data`)."""


def _as_data(content: Content) -> Mapping[str, Any]:
    return content.model_dump(mode="json") if isinstance(content, BaseModel) else content


def _to_date(value: Any, how: str) -> date | None:
    if value is None:
        return None
    if how == "year":
        return date(int(value), 1, 1)
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass(frozen=True)
class RecordType:
    """One record type: its URL segment (`name`), content model and labels."""

    name: str
    model: type[RecordContent]
    label_vi: str
    label_en: str
    kind_field: str | None

    def primary_date(self, content: Content) -> date | None:
        """The date that date-range filters use (e.g. published_on, else 1 Jan of the year)."""
        data = _as_data(content)
        for field, how in self.model.DATE_FIELDS:
            found = _to_date(data.get(field), how)
            if found is not None:
                return found
        return None

    def kind(self, content: Content) -> str | None:
        """The value of `kind_field`, if the type has one."""
        if self.kind_field is None:
            return None
        value = _as_data(content).get(self.kind_field)
        return value if isinstance(value, str) else None

    def facets(self, content: Content) -> list[tuple[str, str]]:
        """(facet, code) pairs without duplicates: the vocabulary codes of the filterable
        multi-valued fields, and the identifiers (ISBN) that search looks up exactly."""
        data = _as_data(content)
        pairs: dict[tuple[str, str], None] = {}
        for field, vocab in self.model.FACET_FIELDS.items():
            for code in data.get(field) or ():
                pairs[(vocab, code)] = None
        for field, facet in self.model.IDENTIFIER_FIELDS.items():
            value = data.get(field)
            if isinstance(value, str) and value:
                pairs[(facet, value)] = None
        return list(pairs)

    def search_text(self, content: Content) -> str:
        """Folded (diacritic-free, lower-case) text of the searchable fields, space-joined."""
        data = _as_data(content)
        parts: list[str] = []
        for field in self.model.SEARCH_FIELDS:
            value = data.get(field)
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, list):
                parts.extend(v for v in value if isinstance(v, str))
        return fold(" ".join(parts))


RECORD_TYPES: dict[str, RecordType] = {
    t.name: t
    for t in (
        RecordType("products", Product, "Sản phẩm truyền thông", "Communication products", "kind"),
        RecordType("training-courses", TrainingCourse, "Khóa tập huấn, bồi dưỡng",
                   "Training courses", "form"),
        RecordType("events", Event, "Sự kiện", "Events", "kind"),
        RecordType("awards", Award, "Giải thưởng, cuộc thi", "Awards and contests", "kind"),
        RecordType("plans", Plan, "Kế hoạch thực hiện", "Implementation plans", None),
        RecordType("budgets", Budget, "Dự toán kinh phí", "Budgets", None),
        RecordType("reports", Report, "Báo cáo sơ kết, tổng kết", "Progress and review reports",
                   "kind"),
    )
}


def _record_type(record_type: RecordType | str) -> RecordType:
    return RECORD_TYPES[record_type] if isinstance(record_type, str) else record_type


def vocab_refs(record_type: RecordType | str) -> list[tuple[str, str]]:
    """(field path, vocabulary) pairs; `.*` marks list items and dict keys (`themes.*`)."""
    model = _record_type(record_type).model
    refs = []
    for field, vocab in model.VOCAB_FIELDS.items():
        annotation = model.model_fields[field].annotation
        origin = get_origin(annotation)
        refs.append((f"{field}.*" if origin in (list, dict) else field, vocab))
    return refs


def check_vocabularies(
    record_type: RecordType | str,
    content: Content,
    known: Mapping[str, Collection[str]],
) -> list[FieldProblem]:
    """A problem for every code not in its vocabulary. Vocabularies absent from `known`
    are not checked. Paths: `kind`, `themes.2`, `participants_by_group.<code>`."""
    data = _as_data(content)
    problems = []
    for field, vocab in _record_type(record_type).model.VOCAB_FIELDS.items():
        codes = known.get(vocab)
        value = data.get(field)
        if codes is None or value is None:
            continue
        # Fast path (the common case): every code is known; paths are built only on failure.
        if isinstance(value, str):
            if value in codes:
                continue
            found = [(field, value)]
        elif all(isinstance(v, str) and v in codes for v in value):
            continue
        elif isinstance(value, Mapping):
            found = [(f"{field}.{k}", str(k)) for k in value]
        else:
            found = [(f"{field}.{i}", str(v)) for i, v in enumerate(value)]
        for path, code in found:
            if code not in codes:
                shown = shorten(code)
                problems.append(FieldProblem(
                    path, "unknown_code",
                    f"Mã '{shown}' không có trong danh mục '{vocab}'",
                    f"Code '{shown}' is not in the '{vocab}' vocabulary",
                ))
    return problems
