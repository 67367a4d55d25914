"""Spreadsheets of the console: the import template of each record type (Vietnamese headers
with the standard field name in brackets, which the file reader maps back) and the export of
the programme dashboard."""

from __future__ import annotations

import io
from typing import Any

import schemas
from hub import field_shapes

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Vietnamese column headers of the data standard's fields.
FIELD_LABELS: dict[str, str] = {
    "source_id": "Mã hồ sơ của cơ quan", "visibility": "Phạm vi chia sẻ", "title": "Tiêu đề",
    "description": "Mô tả", "themes": "Chủ đề", "languages": "Ngôn ngữ", "kind": "Loại",
    "subtitle": "Phụ đề", "authors": "Tác giả", "publisher": "Nhà xuất bản", "isbn": "ISBN",
    "publication_year": "Năm xuất bản", "published_on": "Ngày phát hành",
    "edition_format": "Hình thức phát hành", "duration_seconds": "Thời lượng (giây)",
    "page_count": "Số trang", "target_groups": "Đối tượng", "channels": "Kênh phổ biến",
    "funding_source": "Nguồn kinh phí", "links": "Liên kết bản số", "course_source_id":
    "Mã khóa học MOOC", "organiser": "Đơn vị tổ chức", "form": "Hình thức",
    "start_date": "Ngày bắt đầu", "end_date": "Ngày kết thúc", "province_code": "Mã tỉnh",
    "location": "Địa điểm", "participants_total": "Tổng số người tham gia",
    "participants_by_group": "Số người theo đối tượng", "materials": "Tài liệu",
    "product_source_ids": "Mã sản phẩm liên quan", "country": "Quốc gia",
    "participants": "Số người tham gia", "spokesperson": "Người phát ngôn", "year": "Năm",
    "prize": "Giải thưởng", "recipients": "Người, đơn vị nhận giải", "year_from": "Từ năm",
    "year_to": "Đến năm", "document_number": "Số văn bản", "issued_on": "Ngày ban hành",
    "issuer": "Cơ quan ban hành", "activities": "Hoạt động", "targets": "Chỉ tiêu",
    "amount_vnd": "Số tiền (đồng)", "status": "Trạng thái", "items": "Các khoản mục",
    "period_start": "Từ ngày", "period_end": "Đến ngày", "figures": "Số liệu",
    "cost_vnd": "Kinh phí (đồng)",
    "source_updated_at": "Thời điểm cập nhật tại hệ thống nguồn",
}
_HINTS = {
    "list": "Nhiều giá trị, cách nhau bằng dấu ;",
    "json": "JSON, ví dụ [{\"url\": \"https://...\"}]",
}
_SCALAR_HINTS = {
    "cost_vnd": "Số nguyên đồng, ví dụ 1250000 hoặc 1.250.000 (không ghi số lẻ)",
    "amount_vnd": "Số nguyên đồng, ví dụ 1250000 hoặc 1.250.000 (không ghi số lẻ)",
    "source_updated_at": "Ngày giờ (giờ Việt Nam) hoặc ISO 8601 có múi giờ, "
                         "ví dụ 2025-03-01T10:00:00+07:00",
}
_DATE_FIELDS = {"published_on", "start_date", "end_date", "issued_on", "period_start",
                "period_end"}


def header(field: str) -> str:
    return f"{FIELD_LABELS.get(field, field)} ({field})"


def template_workbook(record_type: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    rt = schemas.RECORD_TYPES[record_type]
    model = rt.model
    shapes = field_shapes(model)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Dữ liệu"
    fields = list(model.model_fields)
    sheet.append([header(f) for f in fields])
    fill = PatternFill("solid", fgColor="0F2D52")
    for index, field in enumerate(fields, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = max(14, len(header(field)) + 2)
        if model.model_fields[field].is_required():
            cell.fill = PatternFill("solid", fgColor="B3261E")
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "A2"

    guide = book.create_sheet("Hướng dẫn")
    guide.append([f"Mẫu nhập dữ liệu: {rt.label_vi} ({record_type})"])
    guide.append(["Tiêu đề cột màu đỏ là bắt buộc. Ngày ghi theo dạng dd/mm/yyyy. "
                  "Mỗi dòng là một hồ sơ; nhập lại cùng mã hồ sơ sẽ cập nhật hồ sơ đó."])
    guide.append([])
    guide.append(["Cột", "Trường chuẩn", "Bắt buộc", "Cách ghi"])
    for field in fields:
        shape = shapes.get(field, "scalar")
        hint = _HINTS.get(shape, "dd/mm/yyyy" if field in _DATE_FIELDS else "")
        hint = _SCALAR_HINTS.get(field, hint)
        vocab = model.VOCAB_FIELDS.get(field)
        if vocab:
            hint = (hint + "; " if hint else "") + f"mã trong danh mục “{vocab}”"
        guide.append([FIELD_LABELS.get(field, field), field,
                      "có" if model.model_fields[field].is_required() else "", hint])
    guide["A1"].font = Font(bold=True, size=13)
    for row in guide.iter_rows(min_row=4, max_row=4):
        for cell in row:
            cell.font = Font(bold=True)
    for column, width in zip("ABCD", (34, 24, 10, 60), strict=True):
        guide.column_dimensions[column].width = width
    return _save(book)


def _save(book: Any) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
