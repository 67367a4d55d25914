"""Standard v1.1 in the console (SQLite and PostgreSQL): the XLSX template's cost and
source-time columns imported back (money as people type it, a spreadsheet time read as
Vietnam's), and the record page showing "1.250.000 ₫" and dd/mm/yyyy HH:MM."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import datetime

import httpx
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from hub import Hub
from hub.tables import Record
from tests.console._helpers import csrf, new_admin, sign_in

pytestmark = pytest.mark.anyio


async def _finished(client: httpx.AsyncClient, location: str) -> httpx.Response:
    for _ in range(200):
        status = await client.get(location + "/status")
        if status.json()["state"] in ("finished", "failed"):
            return await client.get(location)
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not finish")


async def test_xlsx_import_of_cost_and_source_time_and_the_record_page(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    await sign_in(client, await new_admin(hub))
    template = await client.get("/console/import/templates/products.xlsx")
    book = load_workbook(io.BytesIO(template.content))
    sheet = book.worksheets[0]
    headers = [str(c.value) for c in sheet[1]]
    assert "Kinh phí (đồng) (cost_vnd)" in headers
    assert "Thời điểm cập nhật tại hệ thống nguồn (source_updated_at)" in headers
    guide = [row for row in book["Hướng dẫn"].iter_rows(values_only=True) if row[1] == "cost_vnd"]
    assert "Số nguyên đồng" in str(guide[0][3])
    rows = [
        {"source_id": "XL-1", "kind": "book", "title": "Sách có kinh phí",
         "cost_vnd": "1.250.000 đ", "source_updated_at": datetime(2025, 3, 1, 10, 15)},
        {"source_id": "XL-2", "kind": "book", "title": "Sách kinh phí lẻ",
         "cost_vnd": "1.250.000,50"},
    ]
    for values in rows:
        sheet.append([values.get(h.rsplit("(", 1)[1].rstrip(")")) for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    started = await client.post("/console/import", data={
        "csrf_token": await csrf(client, "/console/import"), "record_type": "products",
        "agency": "G16"}, files={"file": ("an-pham.xlsx", buffer.getvalue())})
    page = await _finished(client, started.headers["location"])
    summary = page.text[page.text.index('id="import-summary"'):]
    assert re.search(r"Tạo mới</div><div class=\"value\">1<", summary), summary[:600]
    assert "cost_vnd" in summary  # the decimal amount, rejected with its field

    async with hub.db.session() as session:
        record_id, data, provenance = (await session.execute(
            sa.select(Record.id, Record.data, Record.provenance).where(
                Record.source_id == "XL-1"))).one()
    assert data["cost_vnd"] == 1_250_000
    assert provenance["source_updated_at"] == "2025-03-01T10:15:00+07:00"
    record_page = await client.get(f"/console/records/{record_id}")
    assert record_page.status_code == 200
    assert "Kinh phí</dt><dd>1.250.000 ₫</dd>" in record_page.text
    assert "Cập nhật tại hệ thống nguồn</dt><dd>01/03/2025 10:15</dd>" in record_page.text
