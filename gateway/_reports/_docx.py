"""The report as a Word document (python-docx), editable: the national header and the
agency side by side in a borderless table, as administrative documents are laid out, then the
numbered sections, their tables and chart, the placeholders to fill in, and the appendix."""

from __future__ import annotations

import io
from typing import Any

from gateway._reports._chart import chart_png
from gateway._reports._document import MOTTO, NATION, Document, Table

FONT = "Times New Roman"  # what Vietnamese administrative documents use


def _paragraph(container: Any, text: str, *, bold: bool = False, italic: bool = False,
               size: float = 13, align: str = "left") -> Any:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    paragraph = container.add_paragraph()
    paragraph.alignment = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
                           "right": WD_ALIGN_PARAGRAPH.RIGHT,
                           "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}[align]
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic
    run.font.size = Pt(size)
    run.font.name = FONT
    return paragraph


def _cell_text(cell: Any, text: str, *, bold: bool = False, italic: bool = False,
               size: float = 13, align: str = "center") -> None:
    cell.paragraphs[0].text = ""
    first = cell.paragraphs[0]
    run = first.add_run(text)
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    run.bold, run.italic = bold, italic
    run.font.size = Pt(size)
    run.font.name = FONT
    first.alignment = {"center": WD_ALIGN_PARAGRAPH.CENTER, "left": WD_ALIGN_PARAGRAPH.LEFT,
                       "right": WD_ALIGN_PARAGRAPH.RIGHT}[align]


def _header(doc: Any, d: Document) -> None:
    table = doc.add_table(rows=2, cols=2)
    _cell_text(table.cell(0, 0), d.agency, bold=True, size=12)
    _cell_text(table.cell(0, 1), NATION, bold=True, size=12)
    table.cell(0, 1).add_paragraph()
    _cell_text(table.cell(1, 0), d.number_line, size=13)
    _cell_text(table.cell(1, 1), d.place_date, italic=True, size=13)
    # The motto sits under the nation line, in the same cell.
    motto = table.cell(0, 1).paragraphs[1]
    run = motto.add_run(MOTTO)
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    run.bold = True
    run.font.name = FONT
    motto.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _table(doc: Any, t: Table) -> None:
    _paragraph(doc, t.caption, italic=True, size=12)
    table = doc.add_table(rows=1, cols=len(t.headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, t.headers, strict=True):
        _cell_text(cell, text, bold=True, size=11)
    for row in t.rows:
        cells = table.add_row().cells
        for index, (cell, value) in enumerate(zip(cells, row, strict=True)):
            text = _format(value)
            _cell_text(cell, text, size=11,
                       align="right" if index in t.numeric else ("center" if index == 0
                                                                  else "left"))


def _format(value: str | int) -> str:
    from gateway._reports._document import number

    return number(value) if isinstance(value, int) else value


def render_docx(d: Document) -> bytes:
    from docx import Document as new_document
    from docx.shared import Cm, Pt

    doc = new_document()
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(13)
    for section in doc.sections:
        section.left_margin, section.right_margin = Cm(3), Cm(2)
        section.top_margin = section.bottom_margin = Cm(2)
    _header(doc, d)
    _paragraph(doc, "")
    _paragraph(doc, "BÁO CÁO", bold=True, size=14, align="center")
    _paragraph(doc, d.title.removeprefix("BÁO CÁO "), bold=True, size=14, align="center")
    _paragraph(doc, d.subtitle, italic=True, align="center")
    _paragraph(doc, d.intro, align="justify")
    for s in d.sections:
        heading = f"{s.number}. {s.title}" if s.number else s.title
        if not s.number:
            doc.add_page_break()
        _paragraph(doc, heading, bold=True, size=13)
        for text in s.paragraphs:
            _paragraph(doc, text, align="justify")
        for t in s.tables:
            _table(doc, t)
        if s.chart is not None:
            doc.add_picture(io.BytesIO(chart_png(s.chart)), width=Cm(15))
        if s.placeholder:
            _paragraph(doc, s.placeholder, italic=True)
        if s.number and s.number == str(sum(1 for x in d.sections if x.number)):
            _paragraph(doc, "")
            _paragraph(doc, d.signer, bold=True, align="right")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
