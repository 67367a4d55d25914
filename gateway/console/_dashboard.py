"""What the programme dashboard shows, prepared from :func:`hub._programme.programme_progress`:
indicator cards with bars against the decision's targets, the exhibitions chart, the press
briefing heat map (an accessible table with a colour scale) and the training chart; and the
same figures as an XLSX workbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from gateway.console._i18n import fmt_datetime, fmt_number
from hub import Hub, Indicator, ProgrammeProgress
from hub.tables import VocabularyTerm

# Heat map colours (0, 1, 2, 3, 4+ briefings): light to dark, dark ones with white text.
HEAT = ("#eef1f5", "#c9dcf0", "#8fb6df", "#3a6ea8", "#1d4f8a")


@dataclass(frozen=True)
class IndicatorView:
    code: str
    label: str
    value_text: str
    target_text: str | None
    detail: str | None
    achieved: bool | None
    fill_pct: float | None  # bar length, % of the scale; None: no bar
    mark_pct: float | None  # target marker
    band: tuple[float, float] | None  # target band (from, to), % of the scale


def _pct(value: float, scale: float) -> float:
    return max(0.0, min(100.0, 100.0 * value / scale)) if scale > 0 else 0.0


def indicator_view(i: Indicator, t: Any, lang: str) -> IndicatorView:
    label = i.label_en if lang == "en" else i.label_vi
    unit = t(f"unit.{i.unit}")
    value_text = f"{fmt_number(i.value, 1)} %" if i.unit == "percent" else fmt_number(i.value)
    detail = None
    if i.numerator is not None and i.denominator is not None:
        detail = f"{fmt_number(i.numerator)} {t('dash.of')} {fmt_number(i.denominator)}"
        if i.unit != "percent":
            detail += f" {unit}"
    elif i.unit != "percent":
        detail = unit
    target_text = None
    fill = mark = None
    band = None
    achieved: bool | None = None
    if i.target is not None and i.target_max is not None:
        target_text = (f"{fmt_number(i.target)}–{fmt_number(i.target_max)} %"
                       if i.unit == "percent" else
                       f"{fmt_number(i.target)}–{fmt_number(i.target_max)} {unit}")
        scale = max(i.target_max * 2, i.value * 1.1)
        fill = _pct(i.value, scale)
        band = (_pct(i.target, scale), _pct(i.target_max, scale))
        achieved = i.value >= i.target
    elif i.target is not None:
        target_text = (f"{fmt_number(i.target)} %" if i.unit == "percent"
                       else f"{fmt_number(i.target)} {unit}")
        scale = max(i.target, i.value)
        fill, mark = _pct(i.value, scale), _pct(i.target, scale)
        achieved = i.value >= i.target
    elif i.unit == "percent":
        fill = _pct(i.value, 100)
    return IndicatorView(i.code, label, value_text, target_text, detail, achieved, fill, mark,
                         band)


async def group_labels(hub: Hub, lang: str) -> dict[str, str]:
    async with hub.db.session() as session:
        rows = await session.execute(
            sa.select(VocabularyTerm.code, VocabularyTerm.label_vi, VocabularyTerm.label_en)
            .where(VocabularyTerm.vocabulary == "target_group"))
        return {code: (en if lang == "en" else vi) for code, vi, en in rows}


def heat_colour(count: int) -> tuple[str, str]:
    colour = HEAT[min(count, len(HEAT) - 1)]
    return colour, "#fff" if count >= 3 else "#1b2430"


def bars(items: list[tuple[str, int]], *, width: int = 560, row: int = 22,
         label_width: int = 190) -> dict[str, Any]:
    """Geometry of a horizontal bar chart (rendered as SVG by the template)."""
    top = max((v for _, v in items), default=0) or 1
    span = width - label_width - 60
    return {
        "width": width, "height": row * len(items) + 8, "row": row, "label_width": label_width,
        "items": [(label, value, round(span * value / top, 1)) for label, value in items],
    }


def workbook(progress: ProgrammeProgress, *, names: dict[str, str], groups: dict[str, str],
             agency_label: str, year_label: str) -> bytes:
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="0F2D52")
    head_font = Font(bold=True, color="FFFFFF")

    def heading(sheet: Any, values: list[Any]) -> None:
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            cell.font, cell.fill = head_font, head_fill

    sheet = book.active
    assert sheet is not None
    sheet.title = "Chỉ tiêu"
    sheet.append(["Tiến độ thực hiện Quyết định 1079/QĐ-TTg"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"Năm: {year_label}", f"Cơ quan: {agency_label}",
                  f"Xuất lúc: {fmt_datetime(datetime.now(UTC))} (giờ Việt Nam)"])
    sheet.append([])
    heading(sheet, ["Chỉ tiêu", "Kết quả", "Mục tiêu", "Mục tiêu (tối đa)", "Đơn vị",
                    "Tử số", "Mẫu số"])
    for i in progress.indicators:
        sheet.append([i.label_vi, i.value, i.target, i.target_max, i.unit, i.numerator,
                      i.denominator])
    for column, width in zip("ABCDEFG", (70, 12, 12, 16, 12, 10, 10), strict=True):
        sheet.column_dimensions[column].width = width

    ex = book.create_sheet("Triển lãm")
    heading(ex, ["Mã tỉnh", "Tỉnh, thành phố", "Số cuộc triển lãm"])
    for code in progress.provinces:
        ex.append([code, names.get(code, code), progress.exhibitions_by_province.get(code, 0)])
    ex.column_dimensions["B"].width = 34

    pb = book.create_sheet("Họp báo")
    pb.append([f"Họp báo định kỳ hằng tháng, năm {progress.heatmap_year}"])
    pb["A1"].font = bold
    heading(pb, ["Mã tỉnh", "Tỉnh, thành phố", *[f"Tháng {m}" for m in range(1, 13)], "Cả năm"])
    for code in progress.provinces:
        months = progress.press_briefings.get(code, [0] * 12)
        pb.append([code, names.get(code, code), *months, sum(months)])
    pb.column_dimensions["B"].width = 34

    tr = book.create_sheet("Tập huấn")
    tr.append(["Số lớp", progress.training.courses])
    tr.append(["Lượt người tham gia", progress.training.participants])
    tr.append([])
    heading(tr, ["Mã đối tượng", "Đối tượng", "Lượt người"])
    for code, count in progress.training.by_group.items():
        tr.append([code, groups.get(code, code), count])
    tr.column_dimensions["B"].width = 34
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
