"""Reading record files (NDJSON, CSV, XLSX) as a stream of items for the ingest pipeline.

Agencies exchange spreadsheets: columns are the standard's field names; list fields hold
values separated by ``;``; object fields (links, materials, figures...) hold JSON; dates may be
ISO (2025-07-01) or Vietnamese dd/mm/yyyy. Files are read row by row, never whole, so memory
stays flat whatever their size.
"""

from __future__ import annotations

import csv
import io
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from pydantic import BaseModel

import schemas
from hub import _json_strict as json_strict
from hub._errors import InvalidInput

VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")  # no daylight saving since 1975

FILE_FORMATS = ("ndjson", "csv", "xlsx")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Row:
    """One item of a file: ``line`` is what a person sees (line or spreadsheet row number);
    ``error`` is set when the row could not even be decoded."""

    line: int
    item: Any
    error: tuple[str, str] | None = None


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    fmt = {"jsonl": "ndjson", "json": "ndjson"}.get(suffix, suffix)
    if fmt not in FILE_FORMATS:
        raise InvalidInput(
            f"Không nhận dạng được định dạng tệp .{suffix}; dùng .ndjson, .csv hoặc .xlsx.",
            f"Unknown file format .{suffix}; use .ndjson, .csv or .xlsx.",
        )
    return fmt


def _field_shapes(model: type[BaseModel]) -> dict[str, str]:
    """field -> "list" | "json" | "scalar", from the model's annotations."""
    shapes: dict[str, str] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
            origin = typing.get_origin(annotation)
        if origin is list:
            (inner,) = typing.get_args(annotation) or (str,)
            nested = isinstance(inner, type) and issubclass(inner, BaseModel)
            shapes[name] = "json" if nested else "list"
        elif origin is dict:
            shapes[name] = "json"
        else:
            shapes[name] = "scalar"
    return shapes


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        midnight = value.time() == datetime.min.time()
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        value = value.strip()
        match = _DMY.match(value)
        if match:
            day, month, year = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    return value


_LABELLED = re.compile(r"^.*\(([A-Za-z_][A-Za-z0-9_]*)\)\s*$", re.S)


def column_name(header: object) -> str:
    """The field a column holds: its header, or the field name in the header's trailing
    brackets ("Tiêu đề (title)"), as in the console's XLSX templates with Vietnamese headers."""
    text = str(header).strip()
    match = _LABELLED.match(text)
    return match.group(1) if match else text


def row_to_item(shapes: dict[str, str], row: dict[str, Any]) -> Any:
    """A flat spreadsheet row as a record item; empty cells are left out."""
    item: dict[str, Any] = {}
    for key, raw in row.items():
        if key is None or raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        name = column_name(key)
        shape = shapes.get(name, "scalar")
        if shape == "list":
            item[name] = [v.strip() for v in str(raw).split(";") if v.strip()]
        elif shape == "json" and isinstance(raw, str):
            try:
                item[name] = orjson.loads(raw)
            except orjson.JSONDecodeError:
                item[name] = raw  # the pipeline reports the wrong type with its path
        elif name.endswith("_vnd") and isinstance(raw, str):
            try:
                item[name] = schemas.parse_vnd(raw)  # "1.250.000 đ" as people type it
            except ValueError:
                item[name] = raw  # the pipeline reports the wrong type with its path
        elif name == "source_updated_at" and isinstance(raw, datetime) and raw.tzinfo is None:
            # Spreadsheets hold no offset: a time typed in one is Vietnam's (UTC+7).
            item[name] = raw.replace(tzinfo=VIETNAM).isoformat()
        else:
            item[name] = _cell(raw)
    return item


UTF8_BOM = b"\xef\xbb\xbf"


def read_ndjson(stream: BinaryIO) -> Iterator[Row]:
    for number, line in enumerate(stream, start=1):
        if number == 1 and line.startswith(UTF8_BOM):
            line = line[len(UTF8_BOM) :]  # Notepad and Excel save UTF-8 with a byte-order mark
        if not line.strip():
            continue
        try:
            yield Row(number, json_strict.loads(line))
        except orjson.JSONDecodeError as exc:
            yield Row(number, None, (
                f"Dòng {number} không phải JSON hợp lệ (UTF-8): {exc.msg}.",
                f"Line {number} is not valid JSON (UTF-8): {exc.msg}.",
            ))
        except json_strict.StrictJSONError as exc:
            yield Row(number, None, (f"Dòng {number}: {exc.message_vi}.",
                                     f"Line {number}: {exc.message_en}."))


def read_csv(stream: BinaryIO, model: type[BaseModel]) -> Iterator[Row]:
    shapes = _field_shapes(model)
    # utf-8-sig: Excel writes a byte-order mark at the start of UTF-8 CSV files.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.DictReader(text)
    try:
        for row in reader:
            # line_num is the record's last line; a quoted cell may span several lines, and
            # a person looks for the line the record starts on.
            cells = [c for v in row.values() for c in (v if isinstance(v, list) else [v])]
            spanned = sum(len(_LINE_BREAK.findall(c)) for c in cells if isinstance(c, str))
            yield Row(reader.line_num - spanned, row_to_item(shapes, row))
    except UnicodeDecodeError:
        raise InvalidInput(
            "Tệp CSV không phải UTF-8; hãy lưu lại với mã hoá UTF-8.",
            "The CSV file is not UTF-8; save it again as UTF-8.",
        ) from None


def read_xlsx(path: Path, model: type[BaseModel]) -> Iterator[Row]:
    from openpyxl import load_workbook  # imported here: only file imports need it

    shapes = _field_shapes(model)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InvalidInput(
            "Không đọc được tệp XLSX (tệp hỏng hoặc không phải định dạng Excel).",
            f"Could not read the XLSX file ({type(exc).__name__}).",
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return
        names = [str(h).strip() if h is not None else "" for h in header]
        for number, values in enumerate(rows, start=2):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            yield Row(number, row_to_item(shapes, dict(zip(names, values, strict=False))))
    finally:
        workbook.close()


def read_rows(path: Path, model: type[BaseModel], fmt: str | None = None) -> Iterator[Row]:
    fmt = fmt or detect_format(path)
    if fmt == "xlsx":
        yield from read_xlsx(path, model)
        return
    with path.open("rb") as stream:
        yield from read_ndjson(stream) if fmt == "ndjson" else read_csv(stream, model)
