"""One report laid out once, as an administrative report (Decree 30/2020 layout: national
header, issuing agency, number, place and date, title, numbered sections, appendix), in plain
values: headings, paragraphs, tables and placeholders. The DOCX, PDF and XLSX renderers only
walk this structure, so the three formats say the same thing in the same order."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from hub import TYPE_LABELS, Count, ReportData

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
DECISION = "Quyết định số 1079/QĐ-TTg"
UNITS = {"titles": "đầu sách", "percent": "%", "provinces": "tỉnh, thành phố",
         "courses": "lớp", "participants": "lượt người"}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def number(value: float | int | None, decimals: int = 0) -> str:
    """Vietnamese number format: 1.234,5."""
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def day_text(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day is not None else ""


@dataclass(frozen=True, slots=True)
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str | int]]
    # Column indexes holding numbers (right-aligned, numeric cells in XLSX).
    numeric: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Chart:
    """A horizontal bar chart of labelled counts (drawn by :mod:`gateway._reports._chart`)."""

    title: str
    items: list[tuple[str, int]]


@dataclass(slots=True)
class Section:
    number: str  # "1", "2"... ; "" for the appendix
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    chart: Chart | None = None
    placeholder: str | None = None  # editable text to replace ("[Nêu ...]")
    sheet: str = ""  # the XLSX sheet name


@dataclass(frozen=True, slots=True)
class Document:
    agency: str
    agency_short: str
    number_line: str
    place_date: str
    title: str
    subtitle: str
    intro: str
    sections: list[Section]
    signer: str

    @property
    def text_lines(self) -> list[str]:
        """Every line of text, in order (what the tests compare extracted text against)."""
        return [NATION, MOTTO, self.agency, self.number_line, self.place_date, self.title,
                self.subtitle]


def _count_table(caption: str, first: str, counts: list[Count], unit: str) -> Table:
    rows: list[list[str | int]] = [[i, c.label, c.count] for i, c in enumerate(counts, 1)]
    rows.append(["", "Tổng cộng", sum(c.count for c in counts)])
    return Table(caption, ["STT", first, unit], rows, numeric=(2,))


def _short(code: str | None) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).upper() or "..."


def build(data: ReportData) -> Document:
    d = data
    review = d.scope == "review"
    agency = "BỘ VĂN HÓA, THỂ THAO VÀ DU LỊCH" if review else d.agency_name.upper()
    title = f"BÁO CÁO Kết quả thực hiện {DECISION} {d.period}"
    subtitle = ("Báo cáo sơ kết, tổng kết toàn quốc (số liệu của mọi cơ quan, tổ chức cũ "
                "được tính cho cơ quan kế thừa hiện nay)" if review
                else f"Cơ quan báo cáo: {d.agency_name} ({d.agency_code})")
    sections: list[Section] = []

    def add(title: str, sheet: str) -> Section:
        section = Section(str(len(sections) + 1), title, sheet=sheet)
        sections.append(section)
        return section

    s = add("Công tác phổ biến, tuyên truyền", "Phổ biến")
    s.paragraphs.append(
        f"Trong {d.period}, {d.agency_name} có {number(d.totals['products'])} sản phẩm "
        "truyền thông về quyền con người được ghi nhận trên hệ thống.")
    s.tables.append(_count_table("Sản phẩm theo kênh phổ biến", "Kênh phổ biến",
                                 d.dissemination, "Số sản phẩm"))
    s.tables.append(_count_table("Sản phẩm theo ngôn ngữ", "Ngôn ngữ", d.product_languages,
                                 "Số sản phẩm"))

    s = add("Công tác tập huấn, bồi dưỡng", "Tập huấn")
    s.paragraphs.append(
        f"Tổ chức {number(d.training_courses)} lớp tập huấn, bồi dưỡng với "
        f"{number(d.training_participants)} lượt người tham gia.")
    s.tables.append(_count_table("Lượt người tham gia theo đối tượng", "Đối tượng",
                                 d.training_by_group, "Lượt người"))

    s = add("Sản phẩm truyền thông theo loại", "Sản phẩm")
    s.paragraphs.append(f"Tổng số sản phẩm: {number(d.totals['products'])}.")
    s.tables.append(_count_table("Sản phẩm theo loại", "Loại sản phẩm", d.products_by_kind,
                                 "Số sản phẩm"))
    s.chart = Chart("Số sản phẩm theo loại", [(c.label, c.count) for c in d.products_by_kind])

    s = add("Tổ chức sự kiện", "Sự kiện")
    s.paragraphs.append(f"Tổ chức {number(d.totals['events'])} sự kiện.")
    s.tables.append(_count_table("Sự kiện theo loại", "Loại sự kiện", d.events_by_kind,
                                 "Số sự kiện"))

    s = add("Giải thưởng, cuộc thi", "Giải thưởng")
    s.paragraphs.append(f"Có {number(d.totals['awards'])} giải thưởng, cuộc thi.")
    s.tables.append(_count_table("Giải thưởng, cuộc thi theo loại", "Loại",
                                 d.awards_by_kind, "Số lượng"))

    s = add("Kinh phí thực hiện", "Kinh phí")
    s.paragraphs.append(
        f"Kinh phí kế hoạch (được giao, hoặc dự toán nếu chưa giao): "
        f"{number(d.planned_vnd)} đồng; quyết toán: {number(d.settled_vnd)} đồng; "
        f"chi phí các hoạt động ghi nhận: {number(d.spent_vnd)} đồng.")
    budget_rows: list[list[str | int]] = [
        [i, b.label, b.estimate_vnd, b.approved_vnd, b.settled_vnd]
        for i, b in enumerate(d.budgets, 1)]
    budget_rows.append(["", "Tổng cộng", sum(b.estimate_vnd for b in d.budgets),
                        sum(b.approved_vnd for b in d.budgets), d.settled_vnd])
    s.tables.append(Table("Kinh phí theo nguồn (đồng)",
                          ["STT", "Nguồn kinh phí", "Dự toán", "Được giao", "Quyết toán"],
                          budget_rows, numeric=(2, 3, 4)))
    spent_rows: list[list[str | int]] = [
        [i, TYPE_LABELS[t], d.spent_by_type.get(t, 0)]
        for i, t in enumerate(("products", "training-courses", "events"), 1)]
    spent_rows.append(["", "Tổng cộng", d.spent_vnd])
    s.tables.append(Table("Chi phí các hoạt động đã thực hiện (đồng)",
                          ["STT", "Hoạt động", "Chi phí"], spent_rows, numeric=(2,)))

    s = add(f"Chỉ tiêu của {DECISION} và tiến độ thực hiện", "Chỉ tiêu")
    years = list(range(d.year_from, d.year_to + 1))
    target_rows: list[list[str | int]] = []
    for i, t in enumerate(d.targets, 1):
        goal = ("" if t.target is None else number(t.target)
                + (f"–{number(t.target_max)}" if t.target_max is not None else ""))
        reached = {True: "Đạt", False: "Chưa đạt", None: "—"}[t.achieved]
        target_rows.append([i, t.label, f"{goal} {UNITS.get(t.unit, t.unit)}".strip(),
                            *[number(t.values[y], 0 if t.values[y] == int(t.values[y]) else 1)
                              for y in years], reached])
    s.tables.append(Table("Chỉ tiêu và kết quả", ["STT", "Chỉ tiêu", "Mục tiêu",
                                                  *[f"Năm {y}" for y in years], "Đánh giá"],
                          target_rows))
    if d.plans:
        s.paragraphs.append("Kế hoạch thực hiện đã ban hành: " + "; ".join(
            p.title for p in d.plans) + ".")

    if review:
        s = add("Kết quả theo cơ quan, địa phương", "Theo cơ quan")
        s.paragraphs.append("Số liệu của tỉnh, cơ quan cũ được tính cho cơ quan kế thừa "
                            "hiện nay.")
        kinds = ("products", "training-courses", "events", "awards")
        agency_rows: list[list[str | int]] = [
            [i, f"{a.name} ({a.code})", *[a.counts.get(k, 0) for k in kinds], a.spent_vnd]
            for i, a in enumerate(d.by_agency, 1)]
        s.tables.append(Table("Kết quả theo cơ quan", [
            "STT", "Cơ quan, địa phương", "Sản phẩm", "Lớp tập huấn", "Sự kiện",
            "Giải thưởng", "Chi phí (đồng)"], agency_rows, numeric=(2, 3, 4, 5, 6)))

    s = add("Khó khăn, vướng mắc", "Khó khăn")
    s.placeholder = "[Nêu khó khăn, vướng mắc]"
    s = add("Đề xuất, kiến nghị", "Đề xuất")
    s.placeholder = "[Nêu đề xuất, kiến nghị]"

    appendix = Section("", "PHỤ LỤC: Danh mục hồ sơ được tính trong báo cáo",
                       sheet="Phụ lục")
    appendix.tables.append(Table(
        f"{len(d.appendix)} hồ sơ",
        ["STT", "Loại hồ sơ", "Mã hồ sơ", "Cơ quan gửi", "Tính cho", "Tiêu đề", "Phân loại",
         "Ngày", "Kinh phí (đồng)"],
        [[i, TYPE_LABELS.get(r.record_type, r.record_type), r.source_id, r.owner_agency,
          r.counted_for, r.title, r.kind or "", day_text(r.day),
          "" if r.cost_vnd is None else r.cost_vnd]
         for i, r in enumerate(d.appendix, 1)], numeric=(8,)))
    sections.append(appendix)

    today = d.as_of
    reporter = ("Bộ Văn hóa, Thể thao và Du lịch tổng hợp số liệu toàn quốc và" if review
                else d.agency_name)
    return Document(
        agency=nfc(agency),
        agency_short=_short(d.agency_code) if not review else "BVHTTDL",
        number_line=f"Số: .../BC-{_short(d.agency_code) if not review else 'BVHTTDL'}",
        place_date=f"..., ngày {today:%d} tháng {today:%m} năm {today:%Y}",
        title=nfc(title), subtitle=nfc(subtitle),
        intro=nfc(f"Thực hiện {DECISION} của Thủ tướng Chính phủ, {reporter} báo cáo "
                  f"kết quả thực hiện {d.period} (số liệu tổng hợp từ hệ thống RightsHub "
                  f"đến ngày {day_text(today)}) như sau:"),
        sections=sections, signer="[Chức vụ, họ và tên người ký]",
    )
