"""Mapping specs (pure): renames, value maps, defaults, dates, decimal comma, legacy text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from connectors import MappingSpec, apply_mapping, encode_tcvn3, encode_vni
from connectors._mapping import parse_number

SPEC = MappingSpec.model_validate({
    "source_id": "ma.so",
    "deleted_when": {"field": "trang_thai", "equals": "da_xoa"},
    "fields": {
        "title": {"from": "ten", "encoding": "auto"},
        "subtitle": {"from": "phu_de", "encoding": "vni"},
        "kind": {"from": "loai", "map": {"sach": "book", "video": "video"}},
        "published_on": {"from": "ngay", "date_format": "dd/mm/yyyy"},
        "page_count": {"from": "so_trang", "number": "vi", "integer": True},
        "languages": {"from": "ngon_ngu", "split": ";",
                      "map": {"Tiếng Việt": "vie", "Tiếng Anh": "eng"}},
        "publisher": {"from": "nxb", "default": "Chưa rõ"},
        "visibility": {"value": "public"},
    },
})


def test_a_full_record_maps_onto_the_standard() -> None:
    mapped = apply_mapping(SPEC, {
        "ma": {"so": " TQ-1 "}, "ten": encode_tcvn3("Quyền trẻ em"),
        "phu_de": encode_vni("Hỏi đáp"), "loai": "SACH", "ngay": "05/09/2024",
        "so_trang": "1.234", "ngon_ngu": "Tiếng Việt; Tiếng Anh", "trang_thai": "hien_hanh",
    })
    assert mapped.issues == []
    assert mapped.item == {
        "source_id": "TQ-1", "title": "Quyền trẻ em", "subtitle": "Hỏi đáp", "kind": "book",
        "published_on": "2024-09-05", "page_count": 1234, "languages": ["vie", "eng"],
        "publisher": "Chưa rõ", "visibility": "public",
    }


def test_problems_are_reported_per_field() -> None:
    mapped = apply_mapping(SPEC, {"ma": {"so": "TQ-2"}, "loai": "tranh", "ngay": "31/02/2024",
                                  "so_trang": "12,5,3"})
    codes = {(i.field, i.code) for i in mapped.issues}
    assert codes == {("title", "missing"), ("subtitle", "missing"), ("kind", "unmapped_value"),
                     ("published_on", "bad_date"), ("page_count", "bad_number"),
                     ("languages", "missing")}
    assert "kind" not in mapped.item and "published_on" not in mapped.item


def test_tombstones_and_missing_keys() -> None:
    gone = apply_mapping(SPEC, {"ma": {"so": "TQ-3"}, "trang_thai": "da_xoa"})
    assert gone.item == {"source_id": "TQ-3", "_op": "delete"}
    nokey = apply_mapping(SPEC, {"ten": "x"})
    assert nokey.item is None and nokey.issues[0].code == "missing"


@pytest.mark.parametrize(("text", "style", "value"), [
    ("1.234,5", "vi", Decimal("1234.5")), ("0,25", "vi", Decimal("0.25")),
    ("12", "vi", Decimal(12)), ("-3.000.000", "vi", Decimal(-3000000)),
    ("1,234.5", "en", Decimal("1234.5")), ("1 234,5", "vi", Decimal("1234.5")),
])
def test_numbers(text: str, style: str, value: Decimal) -> None:
    assert parse_number(text, style) == value


@pytest.mark.parametrize("text", ["1,2,3", "abc", "1.23.4", ""])
def test_bad_numbers(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text, "vi")


def test_a_bad_spec_is_refused_when_loaded() -> None:
    with pytest.raises(ValidationError):
        MappingSpec.model_validate({"source_id": "id", "fields": {
            "published_on": {"from": "d", "date_format": "dd/mm/yy"}}})
    with pytest.raises(ValidationError):
        MappingSpec.model_validate({"source_id": "id", "fields": {"title": {"frm": "x"}}})
    with pytest.raises(ValueError, match="not in the products standard"):
        MappingSpec.model_validate({"source_id": "id", "fields": {"tieu_de": {}}}
                                   ).check_against("products")
