"""Programme reports (Decision 1079/QĐ-TTg) as DOCX, PDF and XLSX, from
:mod:`hub._report_data`'s figures: what the CLI (``rightshub report``), REST
(``/v1/programme/reports/...``) and the console's download buttons all call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from gateway._reports._document import Document, build
from hub import InvalidInput, ReportData

Format = Literal["docx", "pdf", "xlsx"]
FORMATS: tuple[Format, ...] = ("docx", "pdf", "xlsx")
CONTENT_TYPES: dict[Format, str] = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True, slots=True)
class RenderedReport:
    body: bytes
    content_type: str
    filename: str


def check_format(value: str) -> Format:
    """The format asked for, or a bilingual refusal."""
    lowered = value.strip().lower()
    for fmt in FORMATS:
        if lowered == fmt:
            return fmt
    raise InvalidInput(f"Định dạng {value[:20]!r} không được hỗ trợ; chọn docx, pdf hoặc xlsx.",
                       f"Format {value[:20]!r} is not supported; choose docx, pdf or xlsx.")


def filename(data: ReportData, fmt: Format) -> str:
    if data.scope == "annual":
        return f"bao-cao-1079-{data.agency_code}-{data.year_from}.{fmt}"
    return f"bao-cao-1079-toan-quoc-{data.year_from}-{data.year_to}.{fmt}"


def render(data: ReportData, fmt: Format) -> RenderedReport:
    from gateway._reports._docx import render_docx
    from gateway._reports._pdf import render_pdf
    from gateway._reports._xlsx import render_xlsx

    renderers: dict[Format, Callable[[Document], bytes]] = {
        "docx": render_docx, "pdf": render_pdf, "xlsx": render_xlsx}
    return RenderedReport(renderers[fmt](build(data)), CONTENT_TYPES[fmt], filename(data, fmt))


__all__ = ["CONTENT_TYPES", "FORMATS", "Format", "RenderedReport", "build", "check_format",
           "filename", "render"]
