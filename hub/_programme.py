"""Progress against the targets of Decision 1079/QĐ-TTg, computed from the records.

One function, :func:`programme_progress`, feeds the console's programme dashboard, its XLSX
export and GraphQL's ``programme`` field, so the three never disagree. Every figure is an
aggregate in SQL (counts over indexed columns and facets); only the few event rows that feed
the province maps and the training courses' participant figures are read row by row.

Filters: ``year`` (the record's primary date: a product's publication date or year, an event's
start, a course's start) and ``agency`` (the agency and every agency it replaced, so a former
province's records count for its successor). Deleted records never count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hub._hub import Hub
from hub._principal import Principal
from hub._query import has_facet, visible_to
from hub._registry import AgencyGraph
from hub.tables import Record, VocabularyTerm


@dataclass(frozen=True, slots=True)
class Target:
    """A target of the decision as the dashboard shows it."""

    code: str
    label_vi: str
    label_en: str
    target: float | None
    target_max: float | None  # upper end of a band ("15–20 %"), else None
    unit: str  # "titles" | "percent" | "provinces" | "courses" | "participants"


TARGETS: tuple[Target, ...] = (
    Target("book_titles", "Đầu sách về quyền con người", "Book titles on human rights",
           1000, None, "titles"),
    Target("minority_foreign_digital_share",
           "Tỷ lệ sản phẩm bằng tiếng dân tộc thiểu số, tiếng nước ngoài hoặc trên nền tảng số",
           "Share of products in ethnic-minority or foreign languages or on digital platforms",
           15, 20, "percent"),
    Target("digitised_online_share", "Tỷ lệ sản phẩm được số hóa và chia sẻ trực tuyến",
           "Share of products digitised and shared online", None, None, "percent"),
    Target("provinces_with_exhibition", "Tỉnh, thành phố đã tổ chức triển lãm",
           "Provinces that held an exhibition", None, None, "provinces"),
    Target("press_briefing_coverage", "Tỷ lệ tháng có họp báo định kỳ (theo tỉnh, thành phố)",
           "Months with a regular press briefing (per province)", 100, None, "percent"),
    Target("training_courses", "Lớp tập huấn, bồi dưỡng", "Training courses",
           None, None, "courses"),
    Target("training_participants", "Lượt người tham gia tập huấn", "Training participants",
           None, None, "participants"),
)
TARGETS_BY_CODE = {t.code: t for t in TARGETS}

BOOK_KINDS = ("book", "ebook")
# Product kinds that exist only in digital form, and edition formats that are digital.
DIGITAL_KINDS = ("ebook", "video", "mooc_course", "mooc_lesson", "infographic")
DIGITAL_FORMATS = ("electronic", "audio", "video", "online", "mixed")
EXHIBITION_KINDS = ("exhibition_domestic",)
PRESS_BRIEFING = "press_briefing"


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    label_vi: str
    label_en: str
    value: float
    target: float | None
    target_max: float | None
    unit: str
    numerator: int | None = None
    denominator: int | None = None

    @property
    def achieved(self) -> bool | None:
        """Whether the (lower) target is reached; None when the decision sets no figure."""
        return None if self.target is None else self.value >= self.target


@dataclass(frozen=True, slots=True)
class TrainingSummary:
    courses: int
    participants: int
    by_group: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProgrammeProgress:
    year: int | None
    agency: str | None
    indicators: list[Indicator]
    # Current province code -> exhibitions held there (former provinces rolled up).
    exhibitions_by_province: dict[str, int]
    # Current province code -> 12 monthly counts of press briefings in ``heatmap_year`` (the
    # year asked for; with all years, the latest year that has briefings).
    press_briefings: dict[str, list[int]]
    heatmap_year: int
    training: TrainingSummary
    provinces: list[str]  # provinces in force, the rows of the maps

    def indicator(self, code: str) -> Indicator:
        return next(i for i in self.indicators if i.code == code)


def _indicator(code: str, value: float, numerator: int | None = None,
               denominator: int | None = None, target: float | None = None) -> Indicator:
    t = TARGETS_BY_CODE[code]
    return Indicator(code, t.label_vi, t.label_en, round(value, 2),
                     t.target if target is None else target, t.target_max, t.unit,
                     numerator, denominator)


def _share(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


async def programme_progress(
    hub: Hub, *, year: int | None = None, agency: str | None = None,
    principal: Principal | None = None, today: date | None = None,
) -> ProgrammeProgress:
    """The dashboard's figures. ``principal`` limits them to what it may read (GraphQL
    callers); the console's programme officers and admins pass none and see every record."""
    today = today or date.today()
    graph = await hub.catalog.agencies()
    async with hub.db.session() as session:
        calc = _Calculator(session, graph, year=year, agency=agency, principal=principal,
                           today=today)
        return await calc.run()


class _Calculator:
    def __init__(self, session: AsyncSession, graph: AgencyGraph, *, year: int | None,
                 agency: str | None, principal: Principal | None, today: date) -> None:
        self.session = session
        self.graph = graph
        self.year = year
        self.agency = agency
        self.principal = principal
        self.today = today

    def _where(self, record_type: str) -> list[sa.ColumnElement[bool]]:
        conditions = [Record.record_type == record_type, Record.deleted.is_(False)]
        if self.year is not None:
            conditions.append(Record.primary_date.between(date(self.year, 1, 1),
                                                          date(self.year, 12, 31)))
        if self.agency is not None:
            conditions.append(Record.owner_agency.in_(sorted(self.graph.rolled_up(self.agency))))
        if self.principal is not None:
            conditions.append(visible_to(self.principal, self.graph))
        return conditions

    async def _count(self, record_type: str, *extra: sa.ColumnElement[bool]) -> int:
        stmt = sa.select(sa.func.count()).select_from(Record).where(
            *self._where(record_type), *extra)
        return int((await self.session.execute(stmt)).scalar_one())

    async def _codes(self, vocabulary: str, groups: tuple[str, ...]) -> list[str]:
        stmt = sa.select(VocabularyTerm.code).where(
            VocabularyTerm.vocabulary == vocabulary, VocabularyTerm.group.in_(groups))
        return sorted((await self.session.execute(stmt)).scalars())

    def _province_of(self, province_code: str | None, owner: str) -> set[str]:
        """The provinces in force that an event counts for: its own province field, else its
        owner when that is a province; former provinces roll into their successors."""
        code = province_code or owner
        agency = self.graph.agencies.get(code)
        if agency is None or agency.level != "provincial":
            return set()
        return set(self.graph.current_successors(code, self.today))

    async def run(self) -> ProgrammeProgress:
        provinces = sorted(
            a.code for a in self.graph.as_of(self.today) if a.level == "provincial")
        products = await self._count("products")
        books = await self._count("products", Record.kind.in_(BOOK_KINDS))
        languages = await self._codes("language", ("ethnic_minority", "foreign"))
        digital_channels = await self._codes("channel", ("digital",))
        reach = await self._count("products", sa.or_(
            has_facet("language", languages),
            has_facet("channel", digital_channels)))
        edition_format = Record.data["edition_format"].as_string()
        digitised = sa.or_(Record.kind.in_(DIGITAL_KINDS), edition_format.in_(DIGITAL_FORMATS))
        online = sa.and_(Record.visibility.in_(("shared", "public")), sa.or_(
            has_facet("channel", digital_channels), edition_format == "online",
            Record.kind.in_(("mooc_course", "mooc_lesson"))))
        digitised_online = await self._count("products", digitised, online)

        exhibitions, briefings, heatmap_year = await self._events(provinces)
        training = await self._training()
        months = self._months_to_count(heatmap_year)
        cells = len(provinces) * months
        covered = sum(1 for counts in briefings.values() for n in counts[:months] if n)
        indicators = [
            _indicator("book_titles", books, books, None),
            _indicator("minority_foreign_digital_share", _share(reach, products), reach,
                       products),
            _indicator("digitised_online_share", _share(digitised_online, products),
                       digitised_online, products),
            _indicator("provinces_with_exhibition", len(exhibitions), len(exhibitions),
                       len(provinces), target=len(provinces)),
            _indicator("press_briefing_coverage", _share(covered, cells), covered, cells),
            _indicator("training_courses", training.courses, training.courses),
            _indicator("training_participants", training.participants, training.participants),
        ]
        return ProgrammeProgress(self.year, self.agency, indicators, exhibitions, briefings,
                                 heatmap_year, training, provinces)

    def _months_to_count(self, year: int) -> int:
        """Months of ``year`` that can already hold a briefing: all twelve of a past year,
        the months begun so far of the current one."""
        if year < self.today.year:
            return 12
        return self.today.month if year == self.today.year else 0

    async def _latest_briefing_year(self) -> int | None:
        stmt = sa.select(sa.func.max(Record.primary_date)).where(
            *self._where("events"), Record.kind == PRESS_BRIEFING,
            Record.primary_date <= self.today)
        latest = (await self.session.execute(stmt)).scalar_one_or_none()
        return latest.year if latest is not None else None

    async def _events(
        self, provinces: list[str]
    ) -> tuple[dict[str, int], dict[str, list[int]], int]:
        # All years: the heat map shows the latest year with briefings (early in a year the
        # current one is still nearly empty), else the current year.
        heatmap_year = self.year or await self._latest_briefing_year() or self.today.year
        province_field = Record.data["province_code"].as_string()
        stmt = sa.select(Record.kind, province_field, Record.owner_agency,
                         Record.primary_date).where(
            *self._where("events"),
            Record.kind.in_((*EXHIBITION_KINDS, PRESS_BRIEFING)))
        exhibitions: dict[str, int] = defaultdict(int)
        briefings: dict[str, list[int]] = {code: [0] * 12 for code in provinces}
        for kind, province_code, owner, day in await self.session.execute(stmt):
            for province in self._province_of(province_code, owner):
                if kind == PRESS_BRIEFING:
                    if day is not None and day.year == heatmap_year and province in briefings:
                        briefings[province][day.month - 1] += 1
                else:
                    exhibitions[province] += 1
        return dict(sorted(exhibitions.items())), briefings, heatmap_year

    async def _training(self) -> TrainingSummary:
        stmt = sa.select(Record.data["participants_total"], Record.data["participants_by_group"]
                         ).where(*self._where("training-courses"))
        courses = participants = 0
        by_group: dict[str, int] = defaultdict(int)
        for total, groups in await self.session.execute(stmt):
            courses += 1
            groups = _as_dict(groups)
            group_sum = sum(int(n) for n in groups.values() if isinstance(n, int))
            # A course that gives only a breakdown still counts its participants.
            participants += total if isinstance(total, int) else group_sum
            for code, n in groups.items():
                if isinstance(n, int):
                    by_group[code] += n
        return TrainingSummary(courses, participants, dict(sorted(by_group.items())))


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
