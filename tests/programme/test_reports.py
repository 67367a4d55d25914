"""Programme reports (annual per agency, national review) in DOCX, PDF and XLSX, from records
pushed through the API: each file is opened again (python-docx, pypdf and pypdfium2,
openpyxl) and its figures compared with the data."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub import Hub, annual_report, review_report
from tests._cli import Done, run_cli
from tests.api._helpers import assert_problem, course, event, product, push
from tests.conftest import auth

pytestmark = pytest.mark.anyio

TODAY = date(2025, 12, 31)
ROOT = Path(__file__).resolve().parents[2]


async def _load(client: httpx.AsyncClient) -> None:
    # Tuyên Quang (08) and the former Hà Giang (02), merged into it on 2025-07-01.
    await push(client, "tq", "products", [
        product("b1", published_on="2025-03-01", cost_vnd=12_500_000, channels=["website"]),
        product("b2", published_on="2025-04-01"),
        product("v1", kind="video", published_on="2025-05-01", cost_vnd=3_000_000),
        product("old", published_on="2024-05-01"),
    ])
    await push(client, "hg", "products", [product("hgb", published_on="2025-02-01")])
    await push(client, "tq", "training-courses", [
        course("c1", participants_total=40, participants_by_group={"reporter": 25,
                                                                  "editor": 15},
               cost_vnd=7_000_000),
    ])
    await push(client, "hg", "events", [
        event("ex1", kind="exhibition_domestic", start_date="2025-02-10"),
        event("pb1", start_date="2025-01-15"),
    ])
    await push(client, "tq", "events", [event("pb2", start_date="2025-01-20")])
    await push(client, "tq", "awards", [
        {"source_id": "a1", "title": "Giải báo chí", "kind": "award", "year": 2025}])
    await push(client, "tq", "budgets", [
        {"source_id": "bg1", "title": "Dự toán 2025", "year": 2025, "amount_vnd": 50_000_000,
         "status": "approved", "funding_source": "local_budget"},
        {"source_id": "bg2", "title": "Quyết toán 2025", "year": 2025,
         "amount_vnd": 20_000_000, "status": "settled", "funding_source": "local_budget"},
    ])
    await push(client, "g16", "products", [product("g1", published_on="2025-06-01")])
    await push(client, "tq", "products", [
        product("draft", published_on="2025-07-01", visibility="private")])


def _label(vocabulary: str, code: str) -> str:
    terms = json.loads((ROOT / "schemas" / "vocabularies" / f"{vocabulary}.json").read_text(
        encoding="utf-8"))["terms"]
    return str(next(t["label_vi"] for t in terms if t["code"] == code))


def _embedded(font: Any) -> bool:
    """Whether a PDF font dictionary carries its font program."""
    if "/DescendantFonts" in font:
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    descriptor = descriptor.get_object() if descriptor is not None else {}
    return any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _counts(table: list[list[str]]) -> dict[str, str]:
    return {row[1]: row[2] for row in table[1:]}


async def test_annual_figures_roll_up_former_province(client: httpx.AsyncClient,
                                                      hub: Hub) -> None:
    await _load(client)
    data = await annual_report(hub, agency="08", year=2025, today=TODAY)
    assert data.agency_name == "Tuyên Quang"
    # b1, b2, v1, the private draft and Hà Giang's hgb; "old" is 2024, g1 another agency's.
    assert data.totals["products"] == 5
    assert {c.code: c.count for c in data.products_by_kind} == {"book": 4, "video": 1}
    assert (data.training_courses, data.training_participants) == (1, 40)
    assert {c.code: c.count for c in data.events_by_kind} == {
        "press_briefing": 2, "exhibition_domestic": 1}
    assert data.totals["awards"] == 1
    assert (data.planned_vnd, data.settled_vnd) == (50_000_000, 20_000_000)
    assert data.spent_vnd == 22_500_000
    assert len(data.appendix) == sum(data.totals.values()) == 5 + 1 + 3 + 1 + 2
    hg_rows = [r for r in data.appendix if r.owner_agency == "02"]
    assert hg_rows and all(r.counted_for == "08" for r in hg_rows)
    books = next(t for t in data.targets if t.code == "book_titles")
    assert books.values == {2025: 4} and books.achieved is False


async def test_review_rolls_agencies_up_to_their_successor(client: httpx.AsyncClient,
                                                           hub: Hub) -> None:
    await _load(client)
    data = await review_report(hub, year_from=2024, year_to=2025, today=TODAY)
    assert data.agency_code is None and data.totals["products"] == 7
    rows = {a.code: a for a in data.by_agency}
    assert "02" not in rows  # the former province counts for Tuyên Quang
    assert rows["08"].counts["products"] == 6 and rows["08"].counts["events"] == 3
    assert rows["G16"].counts == {"products": 1}
    assert set(next(t for t in data.targets if t.code == "book_titles").values) == {2024, 2025}


async def test_api_callers_count_only_what_they_may_read(client: httpx.AsyncClient,
                                                         hub: Hub) -> None:
    from openpyxl import load_workbook

    await _load(client)

    async def source_ids(caller: str) -> set[str]:
        response = await client.get("/v1/programme/reports/annual", headers=auth(caller),
                                    params={"agency": "08", "year": 2025, "format": "xlsx"})
        assert response.status_code == 200, response.text
        sheet = load_workbook(io.BytesIO(response.content))["Phụ lục"]
        return {str(r[2]) for r in sheet.iter_rows(values_only=True)
                if r and isinstance(r[0], int)}

    assert "draft" not in await source_ids("reader")
    assert "draft" in await source_ids("tq")  # its own private record


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    return await client.get(f"/v1/programme/reports/{path}", params=params,
                            headers=auth("reader"))


async def test_annual_docx_over_rest(client: httpx.AsyncClient, hub: Hub) -> None:
    from docx import Document

    await _load(client)
    response = await _get(client, "annual", agency="08", year=2025, format="docx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert ('filename="bao-cao-1079-08-2025.docx"'
            in response.headers["content-disposition"])
    doc = Document(io.BytesIO(response.content))
    head = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert head[0][0] == "TUYÊN QUANG"
    assert head[0][1] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    assert head[1][0] == "Số: .../BC-08"
    assert re.fullmatch(r"\.\.\., ngày \d\d tháng \d\d năm \d{4}", head[1][1]), head[1][1]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Kết quả thực hiện Quyết định số 1079/QĐ-TTg năm 2025" in text
    assert "[Nêu khó khăn, vướng mắc]" in text and "[Nêu đề xuất, kiến nghị]" in text
    assert text == unicodedata.normalize("NFC", text)
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables[1:]]
    kinds = next(t for t in tables if t[0][1] == "Loại sản phẩm")
    assert _counts(kinds)["Tổng cộng"] == "4"
    assert _counts(kinds)[_label("product_kind", "book")] == "3"
    events = next(t for t in tables if t[0][1] == "Loại sự kiện")
    assert _counts(events)["Tổng cộng"] == "3"
    budget = next(t for t in tables if t[0][1] == "Nguồn kinh phí")
    assert budget[-1][3:] == ["50.000.000", "20.000.000"]
    appendix = tables[-1]
    assert len(appendix) == 1 + 11 and {"hgb", "ex1", "bg2"} <= {r[2] for r in appendix}
    assert doc.inline_shapes, "the chart image is in the document"


async def test_annual_pdf_renders_with_the_figures(client: httpx.AsyncClient, hub: Hub,
                                                   tmp_path: Path) -> None:
    import pypdfium2
    from pypdf import PdfReader

    await _load(client)
    response = await _get(client, "annual", agency="08", year=2025, format="pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    text = _nfc("\n".join(page.extract_text() or "" for page in reader.pages))
    squashed = " ".join(text.split())
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "TUYÊN QUANG", "Quyết định số 1079/QĐ-TTg năm 2025",
                     "[Nêu khó khăn, vướng mắc]", "50.000.000", "22.500.000", "hgb", "ex1"):
        assert expected in squashed, expected
    # Every font is embedded (no font left to the reader's machine).
    fonts: list[Any] = []
    for page in reader.pages:
        resources: Any = page["/Resources"].get_object()
        for ref in (resources.get("/Font") or {}).values():
            fonts.append(ref.get_object())
    assert fonts and all(_embedded(f) for f in fonts), fonts
    pdf = pypdfium2.PdfDocument(response.content)
    try:
        image = pdf[0].render(scale=1.5).to_pil().convert("L")
    finally:
        pdf.close()
    out = tmp_path / "annual-08-2025-page1.png"
    image.save(out)
    assert out.stat().st_size > 0
    low, high = image.getextrema()
    assert low < 100 and high > 200, "page 1 has dark text on a light page"
    # An 'L' image's histogram counts each grey level 0-255 (Image.getdata is deprecated).
    dark = sum(image.histogram()[:128])
    assert dark > 0.002 * image.width * image.height


async def test_review_xlsx_over_rest(client: httpx.AsyncClient, hub: Hub) -> None:
    from openpyxl import load_workbook

    await _load(client)
    response = await _get(client, "review", **{"from": 2024, "to": 2025, "format": "xlsx"})
    assert response.status_code == 200, response.text
    assert 'filename="bao-cao-1079-toan-quoc-2024-2025.xlsx"' in response.headers[
        "content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert "Phụ lục" in book.sheetnames and "Theo cơ quan" in book.sheetnames
    assert book["Báo cáo"]["A1"].value == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    rows = [r for r in book["Theo cơ quan"].iter_rows(values_only=True) if r and r[1]]
    by_agency = {r[1]: r for r in rows if isinstance(r[2], int)}
    assert by_agency["Tuyên Quang (08)"][2:6] == (5, 1, 3, 1)
    assert not any("Hà Giang" in str(name) for name in by_agency)
    appendix = [r for r in book["Phụ lục"].iter_rows(values_only=True)
                if r and isinstance(r[0], int)]
    assert len(appendix) == 6 + 1 + 3 + 1 + 2


@pytest.mark.parametrize(("path", "params"), [
    ("annual", {"agency": "ZZ9", "year": 2025}),
    ("annual", {"agency": "08", "year": 1999}),
    ("annual", {"agency": "08", "year": 2025, "format": "odt"}),
    ("review", {"from": 2026, "to": 2024}),
    ("review", {"from": 2024, "to": 3000}),
])
async def test_bad_parameters_are_problems(client: httpx.AsyncClient, path: str,
                                           params: dict[str, Any]) -> None:
    body = assert_problem(await _get(client, path, **params), 400)
    assert body["detail_vi"] != body["detail_en"]


async def test_missing_or_malformed_parameters_are_problems(
        client: httpx.AsyncClient) -> None:
    missing = assert_problem(await _get(client, "annual", agency="08"), 400)
    assert missing["errors"][0]["path"] == "query.year"
    assert_problem(await _get(client, "review", **{"from": "x", "to": 2025}), 400)
    response = await client.get("/v1/programme/reports/annual",
                                params={"agency": "08", "year": 2025})
    assert_problem(response, 401)


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "RIGHTSHUB_DATABASE_URL": database_url,
            "PYTHONPATH": str(ROOT), "RIGHTSHUB_ENVIRONMENT": "test"}


def _cli(database_url: str, *args: str) -> Done:
    """``rightshub report ARGS`` in this process (tests/_cli.py)."""
    return run_cli(["report", *args], env=_env(database_url))


def _cli_process(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m gateway.cli report ARGS`` as a real process: the entry point itself."""
    return subprocess.run([sys.executable, "-m", "gateway.cli", "report", *args],
                          env=_env(database_url), capture_output=True, text=True, timeout=120,
                          check=False)


async def test_cli_writes_each_format(client: httpx.AsyncClient, hub: Hub,
                                      tmp_path: Path) -> None:
    from docx import Document
    from openpyxl import load_workbook
    from pypdf import PdfReader

    await _load(client)
    url = hub.settings.database_url
    for fmt in ("docx", "pdf", "xlsx"):
        out = tmp_path / f"annual.{fmt}"
        done = _cli(url, "annual", "--agency", "08", "--year", "2025", "--format", fmt,
                    "-o", str(out))
        assert done.returncode == 0, done.stderr + done.stdout
    doc = Document(str(tmp_path / "annual.docx"))
    assert doc.tables[0].cell(0, 0).text == "TUYÊN QUANG"
    pdf_text = _nfc(" ".join(p.extract_text() or "" for p in
                             PdfReader(str(tmp_path / "annual.pdf")).pages))
    assert "TUYÊN QUANG" in pdf_text
    book = load_workbook(str(tmp_path / "annual.xlsx"))
    assert len([r for r in book["Phụ lục"].iter_rows(values_only=True)
                if r and isinstance(r[0], int)]) == 12  # the operator counts private ones
    out = tmp_path / "review.docx"
    done = _cli_process(url, "review", "--from", "2025", "--to", "2025", "-o", str(out))
    assert done.returncode == 0, done.stderr + done.stdout
    assert "số liệu toàn quốc" in "\n".join(p.text for p in Document(str(out)).paragraphs)
    refused = _cli(url, "review", "--from", "2026", "--to", "2025", "-o", str(out))
    assert refused.returncode == 2
    assert "không được sau" in refused.stderr and "must not be after" in refused.stderr


async def test_console_downloads_the_reports_of_its_filters(client: httpx.AsyncClient,
                                                            hub: Hub) -> None:
    from docx import Document
    from pypdf import PdfReader

    from tests.console._helpers import new_admin, sign_in

    await _load(client)
    await sign_in(client, await new_admin(hub))
    page = await client.get("/console/dashboard?year=2025&agency=08")
    assert page.status_code == 200
    assert 'href="/console/dashboard/report.pdf?year=2025&amp;agency=08"' in page.text
    docx = await client.get("/console/dashboard/report.docx?year=2025&agency=08")
    assert docx.status_code == 200, docx.text
    assert 'filename="bao-cao-1079-08-2025.docx"' in docx.headers["content-disposition"]
    assert Document(io.BytesIO(docx.content)).tables[0].cell(0, 0).text == "TUYÊN QUANG"
    national = await client.get("/console/dashboard/report.pdf?year=2025")
    assert national.status_code == 200
    assert "toan-quoc-2025-2025.pdf" in national.headers["content-disposition"]
    text = _nfc(" ".join(p.extract_text() or "" for p in
                         PdfReader(io.BytesIO(national.content)).pages))
    assert "số liệu toàn quốc" in text and "Kết quả theo cơ quan, địa phương" in text
    assert "Tuyên Quang (08)" in text
    bad = await client.get("/console/dashboard/report.odt?year=2025")
    assert bad.status_code == 400 and "odt" in bad.text


async def test_console_agency_admin_gets_only_its_own_report(client: httpx.AsyncClient,
                                                             hub: Hub) -> None:
    from docx import Document

    from tests.console._helpers import new_admin, sign_in

    await _load(client)
    await sign_in(client, await new_admin(hub, role="agency_admin", agency="08"))
    response = await client.get("/console/dashboard/report.docx?year=2025&agency=G16")
    assert response.status_code == 200, response.text
    assert Document(io.BytesIO(response.content)).tables[0].cell(0, 0).text == "TUYÊN QUANG"
