"""The report as a workbook (openpyxl): a cover sheet with the header, then one sheet per
section and the appendix, numbers as numbers so they can be summed again."""

from __future__ import annotations

from typing import Any

from gateway._reports._document import MOTTO, NATION, Document
from gateway.console._xlsx import _save


def render_xlsx(d: Document) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    head_fill = PatternFill("solid", fgColor="0F2D52")
    head_font = Font(bold=True, color="FFFFFF")
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "Báo cáo"
    for line in (NATION, MOTTO, "", d.agency, d.number_line, d.place_date, "", d.title,
                 d.subtitle, "", d.intro):
        cover.append([line])
    for ref in ("A1", "A2", "A4", "A8"):
        cover[ref].font = Font(bold=True, size=13)
    cover.column_dimensions["A"].width = 110

    def sheet_for(name: str) -> Any:
        return book.create_sheet(name[:31])

    for s in d.sections:
        sheet = sheet_for(s.sheet or s.title)
        sheet.append([f"{s.number}. {s.title}" if s.number else s.title])
        sheet["A1"].font = Font(bold=True, size=13)
        for text in s.paragraphs:
            sheet.append([text])
        if s.placeholder:
            sheet.append([s.placeholder])
            sheet.cell(row=sheet.max_row, column=1).font = Font(italic=True)
        widths: dict[int, int] = {}
        for t in s.tables:
            sheet.append([])
            sheet.append([t.caption])
            sheet.cell(row=sheet.max_row, column=1).font = Font(italic=True)
            sheet.append(t.headers)
            for cell in sheet[sheet.max_row]:
                cell.font, cell.fill = head_font, head_fill
                cell.alignment = Alignment(wrap_text=True)
            for row in t.rows:
                sheet.append(list(row))
                for index, value in enumerate(row, 1):
                    widths[index] = max(widths.get(index, 6), min(60, len(str(value)) + 2))
                    if isinstance(value, int) and index - 1 in t.numeric:
                        sheet.cell(row=sheet.max_row, column=index).number_format = "#,##0"
        for index, width in widths.items():
            sheet.column_dimensions[get_column_letter(index)].width = width
    return _save(book)
