"""Record content models: what an agency sends for each record type (the hub adds the rest)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from ._fields import (
    MAX_LIST,
    MAX_YEAR,
    MIN_YEAR,
    Code,
    Count,
    CountryCode,
    Isbn,
    LanguageCode,
    Number,
    ProvinceCode,
    SourceId,
    Url,
    Vnd,
    Year,
    custom_error,
    refuse_unix_time,
)
from ._text import LongText, ShortText

Visibility = Literal["private", "shared", "public"]

STANDARD_VERSION = "1.1"
"""The data standard's version. 1.1 added cost_vnd and the provenance's source_updated_at,
both optional: every 1.0 document is a valid 1.1 document."""

HUB_OWNED_FIELDS: frozenset[str] = frozenset(
    {"id", "owner_agency", "version", "content_hash", "created_at", "updated_at", "deleted",
     "provenance"}
)
"""Envelope fields that only the hub sets; an agency sending one gets a dedicated message."""


def _date_in_range(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise custom_error(
            "date_out_of_range",
            f"Date must fall between {MIN_YEAR} and {MAX_YEAR}",
            f"Ngày phải nằm trong khoảng từ năm {MIN_YEAR} đến năm {MAX_YEAR}",
        )
    return value


def _date_not_number(value: Any) -> Any:
    """The standard's dates are ISO 8601 strings ("format": "date"), never numbers."""
    return refuse_unix_time(
        value,
        "date_type",
        "Date must be an ISO 8601 string (YYYY-MM-DD), not a number",
        "Ngày phải là chuỗi theo ISO 8601 (YYYY-MM-DD), không phải một số",
    )


Date = Annotated[date, BeforeValidator(_date_not_number), AfterValidator(_date_in_range)]


def _time_not_number(value: Any) -> Any:
    """As for dates: the standard's times are ISO 8601 strings with an offset."""
    return refuse_unix_time(
        value,
        "datetime_type",
        "Time must be an ISO 8601 string with an offset, not a number",
        "Thời điểm phải là chuỗi theo ISO 8601 có múi giờ, không phải một số",
    )


SourceTime = Annotated[AwareDatetime, BeforeValidator(_time_not_number)]


def _list() -> Any:
    """A list field defaulting to [] and bounded to MAX_LIST items."""
    return Field(default_factory=list, max_length=MAX_LIST)


_End = TypeVar("_End", date, int)


def _not_before(value: _End | None, info: ValidationInfo, start_field: str) -> _End | None:
    """Field-validator body: `value` (an end) must not precede `start_field` (validated earlier)."""
    start = info.data.get(start_field)
    if value is not None and start is not None and value < start:
        raise custom_error(
            "range_order",
            f"Must not be earlier than {start_field}",
            f"Không được sớm hơn (nhỏ hơn) trường {start_field}",
        )
    return value


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Link(_Part):
    """A digital copy or web page of a product."""

    url: Url
    label: ShortText | None = None


class Material(_Part):
    """A training material: framework (khung) or specialised (chuyên sâu)."""

    kind: Literal["framework", "specialised"]
    title: ShortText
    product_source_id: SourceId | None = None


class Target(_Part):
    """A measurable plan target."""

    indicator: ShortText
    value: Number
    unit: ShortText | None = None


class BudgetItem(_Part):
    title: ShortText
    amount_vnd: Vnd


class RecordContent(BaseModel):
    """Fields common to every record type."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # field -> vocabulary; the value may be a code, a list of codes or a dict keyed by codes.
    VOCAB_FIELDS: ClassVar[dict[str, str]] = {"themes": "theme", "languages": "language"}
    # multi-valued fields the hub indexes for filtering: field -> vocabulary.
    FACET_FIELDS: ClassVar[dict[str, str]] = {"themes": "theme", "languages": "language"}
    # single-valued identifiers indexed for exact look-up (search by ISBN): field -> facet.
    IDENTIFIER_FIELDS: ClassVar[dict[str, str]] = {}
    SEARCH_FIELDS: ClassVar[tuple[str, ...]] = ("title", "description")
    # (field, "date" | "year"): the first non-empty one is the record's primary date.
    DATE_FIELDS: ClassVar[tuple[tuple[str, str], ...]] = ()
    # field -> registry level ("provincial", "central"; "" = any agency): codes checked
    # against the dated agency registry as of the record's primary date (hub._registry).
    REGISTRY_FIELDS: ClassVar[dict[str, str]] = {}

    source_id: SourceId
    visibility: Visibility = "shared"
    # Standard v1.1: the source system's own last-update time. Not content (it changes no
    # hash or version): the hub keeps it in the envelope's provenance.
    source_updated_at: SourceTime | None = Field(
        default=None,
        description="The source system's own last-update time, ISO 8601 with an offset "
        "(v1.1); kept in the envelope's provenance, not in data.",
    )
    title: ShortText
    description: LongText | None = None
    themes: list[Code] = _list()
    languages: list[LanguageCode] = _list()


_TG = {"target_groups": "target_group"}


class Product(RecordContent):
    """A communication product: book, e-book, video, MOOC, radio/TV item, article, poster..."""

    VOCAB_FIELDS = {
        **RecordContent.VOCAB_FIELDS, "kind": "product_kind", "edition_format": "format",
        **_TG, "channels": "channel", "funding_source": "funding_source",
    }
    FACET_FIELDS = {**RecordContent.FACET_FIELDS, **_TG, "channels": "channel"}
    IDENTIFIER_FIELDS = {"isbn": "isbn"}
    SEARCH_FIELDS = ("title", "subtitle", "description", "authors", "publisher", "isbn")
    DATE_FIELDS = (("published_on", "date"), ("publication_year", "year"))

    kind: Code
    subtitle: ShortText | None = None
    authors: list[ShortText] = _list()
    publisher: ShortText | None = None
    isbn: Isbn | None = None
    publication_year: Year | None = None
    published_on: Date | None = None
    edition_format: Code | None = None
    duration_seconds: Count | None = None
    page_count: Count | None = None
    target_groups: list[Code] = _list()
    channels: list[Code] = _list()
    funding_source: Code | None = None
    cost_vnd: Vnd | None = Field(default=None, description="Cost in dong (v1.1).")
    links: list[Link] = _list()
    course_source_id: SourceId | None = None

    @field_validator("course_source_id")
    @classmethod
    def _course_only_for_lessons(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("kind", "mooc_lesson") != "mooc_lesson":
            raise custom_error(
                "course_for_lesson_only",
                "Only a MOOC lesson (kind mooc_lesson) may name its course",
                "Chỉ bài học MOOC (kind = mooc_lesson) mới được ghi khóa học chứa nó",
            )
        return value


class TrainingCourse(RecordContent):
    """A training course (lớp tập huấn, bồi dưỡng)."""

    VOCAB_FIELDS = {
        **RecordContent.VOCAB_FIELDS, "form": "training_form", **_TG,
        "participants_by_group": "target_group",
    }
    FACET_FIELDS = {**RecordContent.FACET_FIELDS, **_TG}
    SEARCH_FIELDS = ("title", "description", "organiser", "location")
    DATE_FIELDS = (("start_date", "date"), ("end_date", "date"))
    REGISTRY_FIELDS = {"province_code": "provincial"}

    organiser: ShortText | None = None
    form: Code | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    province_code: ProvinceCode | None = None
    location: ShortText | None = None
    target_groups: list[Code] = _list()
    participants_total: Count | None = None
    participants_by_group: dict[Code, Count] = Field(default_factory=dict, max_length=MAX_LIST)
    cost_vnd: Vnd | None = Field(default=None, description="Cost in dong (v1.1).")
    materials: list[Material] = _list()
    product_source_ids: list[SourceId] = _list()

    @field_validator("end_date")
    @classmethod
    def _end_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        return _not_before(value, info, "start_date")


class Event(RecordContent):
    """An event: press briefing, exhibition, conference, contest, dialogue, press visit..."""

    VOCAB_FIELDS = {**RecordContent.VOCAB_FIELDS, "kind": "event_kind", **_TG}
    FACET_FIELDS = {**RecordContent.FACET_FIELDS, **_TG}
    SEARCH_FIELDS = ("title", "description", "location", "spokesperson")
    DATE_FIELDS = (("start_date", "date"),)
    REGISTRY_FIELDS = {"province_code": "provincial"}

    kind: Code
    start_date: Date
    end_date: Date | None = None
    province_code: ProvinceCode | None = None
    country: CountryCode | None = None
    location: ShortText | None = None
    participants: Count | None = None
    spokesperson: ShortText | None = None
    target_groups: list[Code] = _list()
    cost_vnd: Vnd | None = Field(default=None, description="Cost in dong (v1.1).")

    @field_validator("end_date")
    @classmethod
    def _end_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        return _not_before(value, info, "start_date")


class Award(RecordContent):
    """An award or a contest."""

    VOCAB_FIELDS = {**RecordContent.VOCAB_FIELDS, "kind": "award_kind"}
    SEARCH_FIELDS = ("title", "description", "organiser", "prize", "recipients")
    DATE_FIELDS = (("year", "year"),)

    kind: Code
    year: Year | None = None
    organiser: ShortText | None = None
    prize: ShortText | None = None
    recipients: list[ShortText] = _list()
    product_source_ids: list[SourceId] = _list()


class Plan(RecordContent):
    """An implementation plan (kế hoạch thực hiện)."""

    SEARCH_FIELDS = ("title", "description", "issuer", "document_number", "activities")
    DATE_FIELDS = (("issued_on", "date"), ("year_from", "year"))

    year_from: Year
    year_to: Year | None = None
    document_number: ShortText | None = None
    issued_on: Date | None = None
    issuer: ShortText | None = None
    activities: list[ShortText] = _list()
    targets: list[Target] = _list()

    @field_validator("year_to")
    @classmethod
    def _to_after_from(cls, value: int | None, info: ValidationInfo) -> int | None:
        return _not_before(value, info, "year_from")


class Budget(RecordContent):
    """An annual budget estimate, allocation or settlement, in VND."""

    VOCAB_FIELDS = {**RecordContent.VOCAB_FIELDS, "funding_source": "funding_source"}
    SEARCH_FIELDS = ("title", "description", "document_number")
    DATE_FIELDS = (("year", "year"),)

    year: Year
    amount_vnd: Vnd
    funding_source: Code | None = None
    status: Literal["estimate", "approved", "settled"] = "estimate"
    items: list[BudgetItem] = _list()
    document_number: ShortText | None = None


class Report(RecordContent):
    """A progress or review report (annual, 3-year interim, 5-year final...)."""

    VOCAB_FIELDS = {**RecordContent.VOCAB_FIELDS, "kind": "report_kind"}
    SEARCH_FIELDS = ("title", "description", "document_number")
    DATE_FIELDS = (("period_end", "date"), ("issued_on", "date"), ("period_start", "date"))

    kind: Code
    period_start: Date | None = None
    period_end: Date | None = None
    document_number: ShortText | None = None
    issued_on: Date | None = None
    figures: dict[Code, Number] = Field(default_factory=dict, max_length=MAX_LIST)

    @field_validator("period_end")
    @classmethod
    def _end_after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        return _not_before(value, info, "period_start")
