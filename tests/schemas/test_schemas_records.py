import copy
import unicodedata
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel, Field, SecretStr, ValidationError

from schemas import (
    HUB_OWNED_FIELDS,
    RECORD_TYPES,
    Product,
    check_vocabularies,
    content_dict,
    content_hash,
    hash_data,
    load_vocabulary_seed,
    problems_from_validation_error,
    split_envelope,
    vocab_refs,
    vocabulary_codes,
)
from schemas._fields import isbn_is_valid

EXAMPLES: dict[str, dict[str, Any]] = {
    "products": {
        "source_id": "NXB-CTQG/2024/0157",
        "visibility": "public",
        "title": "Hỏi - đáp về quyền con người",
        "subtitle": "Dành cho đồng bào dân tộc thiểu số",
        "kind": "book",
        "authors": ["Nguyễn Văn A", "Trần Thị Bình"],
        "publisher": "Nhà xuất bản Chính trị quốc gia Sự thật",
        "isbn": "978-604-57-0000-6",
        "publication_year": 2024,
        "published_on": "2024-09-14",
        "edition_format": "print",
        "page_count": 212,
        "themes": ["vn_policy_law", "rights_ethnic_minorities"],
        "languages": ["vie", "hmn", "tyz"],
        "target_groups": ["ethnic_minority_community", "propagandist"],
        "channels": ["grassroots_info_cluster", "commune_radio"],
        "funding_source": "state_budget",
        "links": [
            {"url": "https://stbook.vn/sach/hoi-dap-quyen-con-nguoi", "label": "Bản điện tử"}
        ],
    },
    "training-courses": {
        "source_id": "TH-2025-03",
        "title": "Tập huấn kỹ năng thông tin về quyền con người cho phóng viên",
        "organiser": "Bộ Ngoại giao",
        "form": "in_person",
        "start_date": "2025-03-10",
        "end_date": "2025-03-12",
        "province_code": "01",
        "location": "Hà Nội",
        "target_groups": ["reporter", "editor"],
        "participants_total": 85,
        "participants_by_group": {"reporter": 60, "editor": 25},
        "materials": [
            {"kind": "framework", "title": "Tài liệu khung"},
            {"kind": "specialised", "title": "Chuyên đề báo chí", "product_source_id": "SP-9"},
        ],
        "themes": ["hr_concepts_international_law"],
        "languages": ["vie"],
    },
    "events": {
        "source_id": "HB-2025-06",
        "title": "Họp báo thường kỳ tháng 6/2025",
        "kind": "press_briefing",
        "start_date": "2025-06-26",
        "province_code": "01",
        "country": "vn",
        "participants": 120,
        "spokesperson": "Người phát ngôn Bộ Ngoại giao",
        "target_groups": ["reporter"],
    },
    "awards": {
        "source_id": "GT-2024",
        "title": "Giải báo chí về bảo vệ nền tảng tư tưởng của Đảng",
        "kind": "award",
        "year": 2024,
        "organiser": "Ban Tuyên giáo Trung ương",
        "prize": "Giải A",
        "recipients": ["Lê Minh Châu"],
        "product_source_ids": ["NXB-CTQG/2024/0157"],
    },
    "plans": {
        "source_id": "KH-1079-DL",
        "title": "Kế hoạch thực hiện Quyết định 1079/QĐ-TTg tỉnh Đắk Lắk",
        "year_from": 2023,
        "year_to": 2028,
        "document_number": "123/KH-UBND",
        "issued_on": "2023-02-01",
        "issuer": "Ủy ban nhân dân tỉnh Đắk Lắk",
        "activities": ["Biên soạn tài liệu", "Tổ chức triển lãm"],
        "targets": [{"indicator": "Số đầu sách", "value": 12, "unit": "đầu sách"}],
    },
    "budgets": {
        "source_id": "DT-2025",
        "title": "Dự toán kinh phí năm 2025",
        "year": 2025,
        "amount_vnd": 1_500_000_000,
        "funding_source": "local_budget",
        "status": "approved",
        "items": [{"title": "In sách", "amount_vnd": 900_000_000}],
    },
    "reports": {
        "source_id": "BC-SK-3NAM",
        "title": "Báo cáo sơ kết 3 năm thực hiện Đề án",
        "kind": "interim_3_year",
        "period_start": "2022-09-14",
        "period_end": "2025-09-13",
        "issued_on": "2025-10-01",
        "figures": {"books": 312, "share_minority_foreign": 17.5},
    },
}

BAD: dict[str, tuple[dict[str, Any], str, str]] = {
    "products": ({"isbn": "978-604-57-0000-7"}, "isbn", "isbn_invalid"),
    "training-courses": ({"end_date": "2025-03-01"}, "end_date", "range_order"),
    "events": ({"start_date": "26/06/2025"}, "start_date", "date_from_datetime_parsing"),
    "awards": ({"year": 1900}, "year", "greater_than_equal"),
    "plans": ({"year_to": 2020}, "year_to", "range_order"),
    "budgets": ({"amount_vnd": -1}, "amount_vnd", "greater_than_equal"),
    "reports": ({"figures": {"books": "many"}}, "figures.books", "number_type"),
}


def validate(name: str, raw: dict[str, Any]) -> Any:
    return RECORD_TYPES[name].model.model_validate(raw)


def test_record_type_order() -> None:
    assert list(RECORD_TYPES) == [
        "products", "training-courses", "events", "awards", "plans", "budgets", "reports"
    ]
    assert set(EXAMPLES) == set(RECORD_TYPES) == set(BAD)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_validates_and_is_in_vocabulary(name: str) -> None:
    content = validate(name, EXAMPLES[name])
    assert check_vocabularies(name, content, vocabulary_codes()) == []
    assert RECORD_TYPES[name].primary_date(content) is not None


@pytest.mark.parametrize("name", list(BAD))
def test_bad_example_rejected(name: str) -> None:
    change, path, code = BAD[name]
    with pytest.raises(ValidationError) as info:
        validate(name, {**EXAMPLES[name], **change})
    problems = problems_from_validation_error(info.value)
    assert [(p.path, p.code) for p in problems] == [(path, code)]
    for p in problems:
        assert p.message_vi and p.message_en
        assert unicodedata.is_normalized("NFC", p.message_vi)


@pytest.mark.parametrize("field", sorted(HUB_OWNED_FIELDS))
def test_hub_owned_field_refused(field: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate("events", {**EXAMPLES["events"], field: "x"})
    (problem,) = problems_from_validation_error(info.value)
    assert (problem.path, problem.code) == (field, "hub_owned_field")
    assert "do hệ thống (hub) quản lý" in problem.message_vi
    assert "owned by the hub" in problem.message_en


def test_unknown_field_and_missing_fields() -> None:
    with pytest.raises(ValidationError) as info:
        Product.model_validate({"source_id": "a b", "titel": "x", "visibility": "secret"})
    found = {p.path: p for p in problems_from_validation_error(info.value)}
    assert found["titel"].code == "extra_forbidden"
    assert "không được phép" in found["titel"].message_vi
    assert found["title"].code == found["kind"].code == "missing"
    assert found["title"].message_vi == "Thiếu trường bắt buộc"
    assert found["source_id"].code == "string_pattern_mismatch"
    assert found["visibility"].code == "literal_error"
    assert "'public'" in found["visibility"].message_vi
    assert " hoặc " in found["visibility"].message_vi


def test_huge_input_not_echoed() -> None:
    with pytest.raises(ValidationError) as info:
        Product.model_validate({**EXAMPLES["products"], "x" * 10_000: 1})
    (problem,) = problems_from_validation_error(info.value)
    assert problem.code == "extra_forbidden"
    assert len(problem.path) <= 80
    assert len(problem.message_vi) < 200 and len(problem.message_en) < 200


def test_nested_paths_and_urls() -> None:
    raw = copy.deepcopy(EXAMPLES["products"])
    raw["links"].append({"url": "ftp://example.org/x"})
    raw["themes"].append("Bad Code")
    with pytest.raises(ValidationError) as info:
        Product.model_validate(raw)
    paths = {p.path: p.code for p in problems_from_validation_error(info.value)}
    assert paths == {"links.1.url": "url_invalid", "themes.2": "string_pattern_mismatch"}


@pytest.mark.parametrize(
    ("isbn", "ok"),
    [
        ("978-604-57-0000-6", True),
        ("0-306-40615-2", True),
        ("080442957X", True),
        ("978-3-16-148410-0", True),
        ("978-3-16-148410-1", False),
        ("0-306-40615-3", False),
        ("12345", False),
    ],
)
def test_isbn(isbn: str, ok: bool) -> None:
    digits = isbn.replace("-", "")
    assert isbn_is_valid(digits) is ok
    raw = {**EXAMPLES["products"], "isbn": isbn}
    if ok:
        assert Product.model_validate(raw).isbn == digits
    else:
        with pytest.raises(ValidationError):
            Product.model_validate(raw)


def test_course_source_id_only_for_lessons() -> None:
    lesson = {**EXAMPLES["products"], "kind": "mooc_lesson", "course_source_id": "MOOC-1"}
    assert Product.model_validate(lesson).course_source_id == "MOOC-1"
    with pytest.raises(ValidationError):
        Product.model_validate({**lesson, "kind": "book"})


def test_unknown_vocabulary_codes_reported() -> None:
    raw = copy.deepcopy(EXAMPLES["training-courses"])
    raw["themes"] = ["vn_policy_law", "made_up"]
    raw["participants_by_group"]["aliens"] = 3
    raw["form"] = "telepathy"
    problems = check_vocabularies("training-courses", validate("training-courses", raw),
                                  vocabulary_codes())
    assert {p.path for p in problems} == {"themes.1", "participants_by_group.aliens", "form"}
    assert all(p.code == "unknown_code" for p in problems)
    assert ("themes.*", "theme") in vocab_refs("training-courses")
    assert ("form", "training_form") in vocab_refs("training-courses")


def test_registry_derivations() -> None:
    product = validate("products", EXAMPLES["products"])
    rt = RECORD_TYPES["products"]
    assert rt.primary_date(product) == date(2024, 9, 14)
    assert rt.primary_date(content_dict(product)) == date(2024, 9, 14)
    no_day = {**EXAMPLES["products"], "published_on": None}
    assert rt.primary_date(validate("products", no_day)) == date(2024, 1, 1)
    assert ("language", "hmn") in rt.facets(product)
    assert ("channel", "commune_radio") in rt.facets(product)
    assert ("target_group", "propagandist") in rt.facets(product)
    text = rt.search_text(product)
    assert "hoi - dap ve quyen con nguoi" in text and "tran thi binh" in text
    assert rt.kind(product) == "book"
    assert RECORD_TYPES["budgets"].primary_date(EXAMPLES["budgets"]) == date(2025, 1, 1)
    assert RECORD_TYPES["reports"].primary_date(EXAMPLES["reports"]) == date(2025, 9, 13)


def test_content_hash_stable_and_sensitive() -> None:
    raw = EXAMPLES["events"]
    base = validate("events", raw)
    reordered = validate("events", dict(reversed(list(raw.items()))))
    with_defaults = validate("events", {**raw, "themes": [], "description": None})
    assert content_hash(base) == content_hash(reordered) == content_hash(with_defaults)
    assert content_hash(base) != content_hash(validate("events", {**raw, "participants": 121}))
    assert content_hash(base) != content_hash(validate("events", {**raw, "visibility": "public"}))
    # source_id is the key, not content
    assert content_hash(base) == content_hash(validate("events", {**raw, "source_id": "other"}))
    source_id, visibility, data = split_envelope(base)
    assert (source_id, visibility) == ("HB-2025-06", "shared")
    assert data == content_dict(base)
    assert "source_id" not in data and "visibility" not in data
    assert hash_data(visibility, data) == content_hash(base)


def test_vocabulary_seed() -> None:
    seeds = {s.vocabulary: s for s in load_vocabulary_seed()}
    assert {"record_type", "product_kind", "event_kind", "training_form", "award_kind",
            "report_kind", "format", "funding_source", "channel", "target_group", "theme",
            "language"} <= set(seeds)
    assert seeds["theme"].provisional
    assert seeds["record_type"].codes == set(RECORD_TYPES)
    assert {t.group for t in seeds["language"].terms} == {"national", "ethnic_minority", "foreign"}
    for seed in seeds.values():
        for term in seed.terms:
            assert unicodedata.is_normalized("NFC", term.label_vi)
    referenced = {vocab for rt in RECORD_TYPES for _, vocab in vocab_refs(rt)}
    assert referenced <= set(seeds)


def test_a_secret_strings_length_is_worded_in_characters_a_lists_in_items() -> None:
    """pydantic reports a SecretStr's min/max length as a collection's (``too_short``); the
    problem keeps the code and says characters, while a list's stays items."""
    class Body(BaseModel):
        password: SecretStr = Field(min_length=12, max_length=20)
        scopes: list[str] = Field(min_length=1)

    with pytest.raises(ValidationError) as short:
        Body.model_validate({"password": "ngan", "scopes": []})
    password, scopes = problems_from_validation_error(short.value)
    assert (password.code, password.message_vi) == ("too_short", "Phải có ít nhất 12 ký tự")
    assert password.message_en == "Must have at least 12 character(s)"
    assert (scopes.code, scopes.message_vi) == ("too_short", "Phải có ít nhất 1 phần tử")
    with pytest.raises(ValidationError) as long:
        Body.model_validate({"password": "x" * 21, "scopes": ["a"]})
    (problem,) = problems_from_validation_error(long.value)
    assert (problem.code, problem.message_vi) == ("too_long", "Không được dài quá 20 ký tự")
