"""Mapping specs: data, not code, that turn an agency's records into the data standard.

A spec names, for each field of the standard, where its value comes from and how to convert
it: rename (``from``, a dotted path), value maps onto our vocabularies (``map``), defaults,
constants, dates (``date_format`` such as "dd/mm/yyyy"), numbers with a decimal comma
(``number: "vi"``: 1.234,5), lists split from text (``split``) and legacy Vietnamese text
(every text field is checked for VNI and TCVN3 and decoded when the detector is sure;
``encoding`` "tcvn3" or "vni" forces a decoding, "verbatim" turns the check off). Specs are
validated when a connector is saved.

:func:`apply_mapping` is pure: it returns the mapped item (or a delete) and the problems met,
which the preview turns into a per-field data-quality report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

import schemas
from connectors._legacy_text import to_unicode

DATE_FORMATS: dict[str, str] = {
    "dd/mm/yyyy": "%d/%m/%Y",
    "dd-mm-yyyy": "%d-%m-%Y",
    "dd.mm.yyyy": "%d.%m.%Y",
    "yyyy-mm-dd": "%Y-%m-%d",
    "mm/dd/yyyy": "%m/%d/%Y",
    "yyyymmdd": "%Y%m%d",
}


class FieldSpec(BaseModel):
    """How one field of the standard is filled."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    source: str | None = Field(default=None, alias="from", max_length=200)
    value: Any = None  # a constant, when there is no ``from``
    default: Any = None  # when the source is missing or empty
    map: dict[str, Any] | None = None  # agency value -> our code (after trimming)
    map_default: Any = None  # for values missing from ``map``; else the value is a problem
    date_format: str | None = None
    # vi: 1.234,5; en: 1,234.5; vnd: whole dong (1.250.000 đ). Fields named *_vnd (cost_vnd,
    # amount_vnd) are read as vnd unless told otherwise.
    number: Literal["vi", "en", "vnd"] | None = None
    # For times with no offset (2025-03-01 10:00, or dd/mm/yyyy hh:mm[:ss]): the source's zone.
    timezone: str = Field(default="Asia/Ho_Chi_Minh", max_length=64)
    integer: bool = False
    split: str | None = Field(default=None, max_length=5)
    # "auto" (and "unicode", its former name, so stored specs keep working): VNI and TCVN3
    # are detected and decoded on every text field; "tcvn3"/"vni" force a decoding;
    # "verbatim" trusts the field as Unicode (only NFC).
    encoding: Literal["auto", "unicode", "tcvn3", "vni", "verbatim"] = "auto"

    @model_validator(mode="after")
    def _check(self) -> FieldSpec:
        if self.date_format is not None and self.date_format not in DATE_FORMATS:
            raise ValueError(
                f"date_format must be one of {', '.join(DATE_FORMATS)}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r}") from None
        return self


class DeletedWhen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(max_length=200)
    equals: Any = True


class MappingSpec(BaseModel):
    """The whole mapping of one agency endpoint onto one record type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source_id: str = Field(max_length=200, description="the agency's key field (dotted path)")
    fields: dict[str, FieldSpec]
    deleted_when: DeletedWhen | None = None
    # On a full refresh, records of this connector that the agency no longer lists become
    # tombstones.
    tombstone_missing: bool = False

    def check_against(self, record_type: str) -> None:
        model = schemas.RECORD_TYPES[record_type].model
        unknown = set(self.fields) - set(model.model_fields) - {"source_id"}
        if unknown:
            raise ValueError(
                f"fields not in the {record_type} standard: {', '.join(sorted(unknown))}"
            )


@dataclass(slots=True)
class Issue:
    """One problem met while mapping a field (for the data-quality report)."""

    field: str
    code: str  # missing | unmapped_value | bad_date | bad_number | bad_money | bad_datetime
    value: Any = None
    message_vi: str = ""
    message_en: str = ""


@dataclass(slots=True)
class Mapped:
    item: dict[str, Any] | None  # the standard item (with "_op": "delete" for tombstones)
    source_id: str | None
    issues: list[Issue] = field(default_factory=list)
    filled: list[str] = field(default_factory=list)  # fields that got a value


class _Skip(Exception):
    pass


def get_path(record: Mapping[str, Any], path: str) -> Any:
    """``a.b.c`` into nested objects; None when any step is missing."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


_NUMBER_VI = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*(,\d+)?$|^[+-]?\d+(,\d+)?$")
_NUMBER_EN = re.compile(r"^[+-]?\d{1,3}(,\d{3})*(\.\d+)?$|^[+-]?\d+(\.\d+)?$")


def parse_number(text: str, style: str) -> Decimal:
    """A number written the Vietnamese way (1.234,5) or the English way (1,234.5)."""
    raw = text.strip().replace(" ", "").replace("\u00a0", "")
    if style == "vi":
        if not _NUMBER_VI.match(raw):
            raise ValueError(text)
        raw = raw.replace(".", "").replace(",", ".")
    else:
        if not _NUMBER_EN.match(raw):
            raise ValueError(text)
        raw = raw.replace(",", "")
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValueError(text) from None


def _convert_one(name: str, spec: FieldSpec, value: Any, issues: list[Issue]) -> Any:
    if spec.number == "vnd" or (spec.number is None and name.endswith("_vnd")):
        return _money(name, value, issues)
    if name == SOURCE_UPDATED_AT:
        return _stamp(name, value, spec.timezone, issues)
    if isinstance(value, str):
        value = to_unicode(value, spec.encoding).strip()
    if spec.map is not None:
        key = str(value).strip() if value is not None else ""
        if key in spec.map:
            value = spec.map[key]
        elif key.casefold() in {k.casefold() for k in spec.map}:
            value = next(v for k, v in spec.map.items() if k.casefold() == key.casefold())
        elif spec.map_default is not None:
            value = spec.map_default
        else:
            issues.append(Issue(name, "unmapped_value", value))
            raise _Skip
    if spec.date_format is not None and isinstance(value, str):
        try:
            value = datetime.strptime(value, DATE_FORMATS[spec.date_format]).date().isoformat()
        except ValueError:
            issues.append(Issue(name, "bad_date", value))
            raise _Skip from None
    if spec.number is not None and isinstance(value, str):
        try:
            number = parse_number(value, spec.number)
        except ValueError:
            issues.append(Issue(name, "bad_number", value))
            raise _Skip from None
        value = int(number) if spec.integer or number == number.to_integral_value() else (
            float(number)
        )
    elif spec.integer and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, date | datetime):
        value = value.isoformat()
    return value


_BAD_MONEY = (
    "Số tiền phải là số nguyên đồng, không âm, viết như 1.250.000, 1,250,000 hoặc 1250000 "
    "(có thể kèm đ hay VNĐ); không nhận phần thập phân hay cách viết lẫn dấu phân cách.",
    "An amount must be a whole, non-negative number of dong written as 1.250.000, 1,250,000 "
    "or 1250000 (optionally followed by đ or VNĐ); decimals and mixed separators are refused.",
)


def _money(name: str, value: Any, issues: list[Issue]) -> int:
    try:
        return schemas.parse_vnd(value)
    except ValueError:
        issues.append(Issue(name, "bad_money", value, *_BAD_MONEY))
        raise _Skip from None


SOURCE_UPDATED_AT = "source_updated_at"
_LOCAL_STAMPS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M:%S", "%d/%m/%Y")


def parse_stamp(value: Any, timezone: str = "Asia/Ho_Chi_Minh") -> str:
    """A source's update time as ISO 8601 with an offset: ISO 8601 as given (one without an
    offset, and dd/mm/yyyy hh:mm[:ss], is a time of ``timezone``); ValueError otherwise."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            for pattern in _LOCAL_STAMPS:
                try:
                    stamp = datetime.strptime(text, pattern)
                    break
                except ValueError:
                    continue
            else:
                raise ValueError(value) from None
    else:
        raise ValueError(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=ZoneInfo(timezone))
    return stamp.isoformat()


def _stamp(name: str, value: Any, timezone: str, issues: list[Issue]) -> str:
    try:
        return parse_stamp(value, timezone)
    except ValueError:
        issues.append(Issue(name, "bad_datetime", value,
                            "Thời điểm phải theo ISO 8601 hoặc dd/mm/yyyy hh:mm:ss.",
                            "A time must be ISO 8601 or dd/mm/yyyy hh:mm:ss."))
        raise _Skip from None


def _field(name: str, spec: FieldSpec, record: Mapping[str, Any], issues: list[Issue]) -> Any:
    raw = get_path(record, spec.source) if spec.source else spec.value
    if _empty(raw):
        return spec.default
    if spec.split is not None and isinstance(raw, str):
        parts: list[Any] = [p for p in raw.split(spec.split) if p.strip()]
    elif isinstance(raw, list):
        parts = list(raw)
    else:
        parts = []
    if parts or spec.split is not None:
        out = []
        for part in parts:
            try:
                out.append(_convert_one(name, spec, part, issues))
            except _Skip:
                continue
        return out or spec.default
    try:
        return _convert_one(name, spec, raw, issues)
    except _Skip:
        return spec.default


def apply_mapping(
    spec: MappingSpec, record: Mapping[str, Any], *, updated_at_from: str | None = None
) -> Mapped:
    """Map one agency record. A record matching ``deleted_when`` becomes a delete item.

    ``source_updated_at`` (standard v1.1, for the provenance) comes from the mapping's own
    field of that name, else from ``updated_at_from`` (the stream's replication key)."""
    raw_id = get_path(record, spec.source_id)
    if _empty(raw_id):
        return Mapped(None, None, [Issue("source_id", "missing")])
    source_id = str(raw_id).strip()
    fields = dict(spec.fields)
    if SOURCE_UPDATED_AT not in fields and updated_at_from is not None:
        fields[SOURCE_UPDATED_AT] = FieldSpec.model_validate({"from": updated_at_from})
    if spec.deleted_when is not None and get_path(
        record, spec.deleted_when.field
    ) == spec.deleted_when.equals:
        delete: dict[str, Any] = {"source_id": source_id, "_op": "delete"}
        stamp_spec = fields.get(SOURCE_UPDATED_AT)
        stamp = _field(SOURCE_UPDATED_AT, stamp_spec, record, []) if stamp_spec else None
        if stamp is not None:
            delete[SOURCE_UPDATED_AT] = stamp
        return Mapped(delete, source_id)
    issues: list[Issue] = []
    item: dict[str, Any] = {"source_id": source_id}
    filled: list[str] = []
    for name, field_spec in fields.items():
        value = _field(name, field_spec, record, issues)
        if _empty(value):
            if field_spec.source and not any(i.field == name for i in issues):
                issues.append(Issue(name, "missing"))
            continue
        item[name] = value
        filled.append(name)
    return Mapped(item, source_id, issues, filled)
