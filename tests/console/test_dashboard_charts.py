"""The dashboard's charts over years in Debian's headless Chromium (Playwright) against the
hub served by uvicorn on loopback (SQLite): every chart draws its bars from the data, the
table view shows the same numbers, each XLSX export opens with openpyxl and holds them.
Screenshots go to the test's tmp_path (and one to /tmp/notes for review when it exists)."""

from __future__ import annotations

import asyncio
import io
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gateway import create_app
from gateway.console._i18n import VIETNAM
from hub import Hub, ImportSummary, Principal, Settings, archive_compliance
from hub._migrate import upgrade
from hub._seed import seed_reference
from tests.console._helpers import PASSWORD, new_admin, seed_programme
from tests.console.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.integration import free_port

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed (.ci/chromium)")

TODAY = datetime.now(VIETNAM).date()
YEAR = TODAY.year
# Budgets: (agency, source_id, year, status, amount). Planned = approved, else estimate.
BUDGETS = [("G16", "NS-2024-DT", 2024, "estimate", 100_000_000),
           ("G16", "NS-2024-PD", 2024, "approved", 120_000_000),
           ("G16", "NS-2024-QT", 2024, "settled", 90_000_000),
           ("G16", "NS-2025-DT", 2025, "estimate", 200_000_000),
           ("G15", "NS-2025-PD", 2025, "approved", 50_000_000),
           ("G15", "NS-2025-QT", 2025, "settled", 40_000_000)]
PLANNED = {2024: 120_000_000, 2025: 250_000_000}
SPENT = {2024: 90_000_000, 2025: 40_000_000}


async def _ingest(hub: Hub, agency: str, record_type: str, items: list[dict[str, Any]]) -> None:
    principal = Principal(f"seed-{agency}", agency, frozenset(), "file")
    result = await hub.ingest.ingest(principal, record_type, items)
    assert isinstance(result, ImportSummary) and result.rejected == 0, result


async def _prepare(settings: Settings) -> str:
    hub = Hub(settings)
    try:
        await seed_reference(hub.db)
        await seed_programme(hub)
        for agency in ("G16", "G15"):
            await _ingest(hub, agency, "budgets", [
                {"source_id": s, "title": f"Kinh phí {s}", "year": y, "status": st,
                 "amount_vnd": n} for a, s, y, st, n in BUDGETS if a == agency])
        state = {"funding_source": "state_budget", "kind": "book", "languages": ["vie"]}
        await _ingest(hub, "G16", "products", [
            {"source_id": "NN-1", "title": "Sổ tay quyền trẻ em", "published_on": "2024-01-10",
             **state},
            {"source_id": "NN-2", "title": "Cẩm nang quyền người khuyết tật",
             "published_on": (TODAY - timedelta(days=200)).isoformat(), **state},
            {"source_id": "NN-3", "title": "Tờ gấp phòng, chống mua bán người",
             "published_on": (TODAY - timedelta(days=5)).isoformat(), **state},
        ])
        return await new_admin(hub)
    finally:
        await hub.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Hub]]:
    folder = tmp_path_factory.mktemp("dashboard-charts")
    port = free_port()
    settings = Settings(database_url=f"sqlite:///{folder / 'hub.db'}", environment="test",
                        port=port, public_url=f"http://127.0.0.1:{port}",
                        rate_limit_client="100000/minute", rate_limit_ip="100000/minute")
    upgrade(settings)
    username = asyncio.run(_prepare(settings))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", username, Hub(settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _compliance(hub: Hub) -> Any:
    async def run() -> Any:
        try:
            return await archive_compliance(hub, today=TODAY)
        finally:
            await hub.close()
    return asyncio.run(run())


def _bars(page: Any, chart: str, index: int = 0) -> list[tuple[str, str, float]]:
    figure = page.locator(f"#chart-{chart} figure").nth(index)
    return [(r.get_attribute("data-category") or "", r.get_attribute("data-series") or "",
             float(r.get_attribute("data-value") or "nan"))
            for r in figure.locator("rect.chart-bar").all()]


def _table(page: Any, chart: str) -> list[list[str]]:
    from playwright.sync_api import expect

    section = page.locator(f"#chart-{chart}")
    if section.locator("details").get_attribute("open") is None:
        section.locator("summary").click()  # the table view opens
    expect(section.locator("table.chart-table")).to_be_visible()
    rows = section.locator("table.chart-table tbody tr")
    return [[c.inner_text().strip() for c in row.locator("td").all()] for row in rows.all()]


def _export(page: Any, chart: str, tmp_path: Path) -> list[tuple[Any, ...]]:
    from openpyxl import load_workbook

    with page.expect_download() as info:
        page.locator(f'a[data-export="{chart}"]').click()
    target = tmp_path / f"{chart}.xlsx"
    info.value.save_as(target)
    sheet = load_workbook(io.BytesIO(target.read_bytes())).worksheets[0]
    return [tuple(row) for row in sheet.iter_rows(min_row=4, values_only=True)]


def test_dashboard_charts_in_chromium(served: tuple[str, str, Hub], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, username, hub = served
    compliance = _compliance(hub)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN",
                                      timezone_id="Asia/Ho_Chi_Minh", accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{base}/console/dashboard")
        page.get_by_label("Tên đăng nhập").fill(username)
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("heading", name="Biểu đồ theo năm")).to_be_visible()
        years = [str(y) for y in range(2022, YEAR + 1)]

        # Budget: planned against spent, per year.
        bars = _bars(page, "budget")
        planned = {c: v for c, s, v in bars if s == "Dự kiến (đồng)"}
        spent = {c: v for c, s, v in bars if s == "Đã chi (đồng)"}
        assert list(planned) == years
        assert planned["2024"] == PLANNED[2024] and planned["2025"] == PLANNED[2025]
        assert spent["2024"] == SPENT[2024] and spent["2025"] == SPENT[2025]
        assert planned["2023"] == 0
        # The heights as drawn (a stylesheet rule can override the SVG attribute), and each
        # bar standing on the zero line.
        drawn = {r.get_attribute("data-category"): r.bounding_box()
                 for r in page.locator("#chart-budget rect.chart-bar").all()
                 if r.get_attribute("data-series") == "Dự kiến (đồng)"}
        heights = {c: (box or {}).get("height", 0.0) for c, box in drawn.items()}
        assert heights["2025"] > heights["2024"] > 0 and heights["2023"] < 0.5, heights
        ratio = heights["2025"] / heights["2024"]
        assert abs(ratio - PLANNED[2025] / PLANNED[2024]) < 0.05, (ratio, heights)
        bottoms = {round(b["y"] + b["height"]) for b in drawn.values() if b and b["height"] > 0}
        assert len(bottoms) == 1, drawn
        table = {row[0]: row[1:] for row in _table(page, "budget")}
        assert table["2025"] == ["250.000.000", "40.000.000"]
        sheet = {row[0]: row[1:] for row in _export(page, "budget", tmp_path)}
        assert sheet["Năm"] == ("Dự kiến (đồng)", "Đã chi (đồng)")
        assert sheet[2024] == (PLANNED[2024], SPENT[2024])
        assert sheet[2025] == (PLANNED[2025], SPENT[2025])

        # Training: seed_programme holds 5 agencies x 4 courses in 2025.
        courses = {c: v for c, _, v in _bars(page, "training", 0)}
        people = {c: v for c, _, v in _bars(page, "training", 1)}
        assert courses["2025"] == 20 and courses["2024"] == 0
        assert people["2025"] > 20
        table = {row[0]: row[1:] for row in _table(page, "training")}
        assert table["2025"][0] == "20"
        assert table["2025"][1] == f"{int(people['2025']):,}".replace(",", ".")
        sheet = {row[0]: row[1:] for row in _export(page, "training", tmp_path)}
        assert sheet[2025] == (20, int(people["2025"]))

        # Archive compliance over release years, and the overdue list.
        trend = {(c, s): v for c, s, v in _bars(page, "archive")}
        for row in compliance.trend:
            assert trend[(str(row.year), "Quá hạn chưa nộp")] == row.overdue
            assert trend[(str(row.year), "Chưa đến hạn")] == row.not_due
        assert trend[("2024", "Quá hạn chưa nộp")] == 1
        assert trend[(str(YEAR), "Chưa đến hạn")] >= 1
        sheet = {row[0]: row[1:] for row in _export(page, "archive", tmp_path)}
        assert sheet[2024][2] == 1  # on time, late, overdue, ...
        overdue = _table(page, "overdue")
        assert [r[1] for r in overdue] == ["NN-1", "NN-2"]  # the longest overdue first
        assert overdue[0][3] == "10/01/2024" and overdue[0][4] == "09/04/2024"
        sheet_rows = _export(page, "overdue", tmp_path)
        assert sheet_rows[1][1] == "NN-1"
        assert sheet_rows[1][3].date() == date(2024, 1, 10)  # a date cell, dd/mm/yyyy

        # Records by kind and agency; each target's progress over the years.
        by_agency = {c: v for c, _, v in _bars(page, "records", 1)}
        assert sum(by_agency.values()) > 0
        records = _table(page, "records")
        total = sum(int(r[3].replace(".", "")) for r in records)
        assert total == sum(v for _, _, v in _bars(page, "records", 0))  # every kind shown
        g16 = sum(int(r[3].replace(".", "")) for r in records if r[0].startswith("G16 "))
        assert g16 >= 40 + 4 + 4 and any(v == g16 for v in by_agency.values())
        sheet_rows = _export(page, "records", tmp_path)
        assert sum(r[3] for r in sheet_rows[1:]) == sum(int(r[3].replace(".", ""))
                                                        for r in records)
        books = {c: v for c, _, v in _bars(page, "targets", 0)}
        assert list(books) == years and sum(books.values()) > 0
        targets = _table(page, "targets")
        assert len(targets) == 7 * len(years)
        assert page.locator("#chart-targets figure").count() == 7

        page.locator("#charts").scroll_into_view_if_needed()
        shot = tmp_path / "dashboard-charts.png"
        page.screenshot(path=str(shot), full_page=True)
        page.locator("#chart-budget").screenshot(path=str(tmp_path / "budget.png"))
        notes = Path("/tmp/notes")
        if notes.is_dir():
            shutil.copy(shot, notes / "dashboard-charts.png")
            shutil.copy(tmp_path / "budget.png", notes / "dashboard-budget.png")
        browser.close()
