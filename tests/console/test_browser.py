"""The console in a real browser: Debian's headless Chromium driven by Playwright against
the hub served by uvicorn on loopback (SQLite only, to keep CI fast).

One journey, as an admin would make it: sign in, create a client and an API key (secret
shown once, copied from the page) and use the key from the test with plain HTTP calls, revoke
it and see the next call refused, upload an XLSX with errors and read the row-level messages,
open the dashboard. Screenshots go to tests/artefacts/console/.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

import connectors
from gateway import create_app
from gateway.console._xlsx import template_workbook
from hub import Hub, Settings
from hub._migrate import upgrade
from hub._seed import seed_reference
from tests.connectors import SIM_SECRET, Simulator, running_simulator, sim_config
from tests.console._helpers import PASSWORD, new_admin, seed_programme
from tests.integration import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts" / "console"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed (.ci/chromium)")


async def _prepare(settings: Settings, sim: Simulator) -> tuple[str, str]:
    hub = Hub(settings)
    try:
        await seed_reference(hub.db)
        await seed_programme(hub)
        async with hub.db.transaction() as session:
            info = await connectors.create_connector(
                hub, session, agency="G16", name="Hệ thống quản lý xuất bản (mô phỏng)",
                kind="rest", config=sim_config(sim),
                secrets=connectors.Secrets.model_validate({"client_secret": SIM_SECRET}),
                schedule_seconds=86400, enabled=True)
        return await new_admin(hub), info.id
    finally:
        await hub.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """The hub on a loopback port, with reference and programme data, a hub admin and a
    connector to an agency simulator."""
    folder = tmp_path_factory.mktemp("console-browser")
    with running_simulator(folder, "--records", "25", "--seed", "9") as sim:
        yield from _serve(folder, sim)


def _serve(folder: Path, sim: Simulator) -> Iterator[tuple[str, str, str]]:
    port = free_port()
    settings = Settings(database_url=f"sqlite:///{folder / 'hub.db'}", environment="test",
                        port=port, public_url=f"http://127.0.0.1:{port}",
                        rate_limit_client="100000/minute", rate_limit_ip="100000/minute",
                        outbound_allow=["127.0.0.0/8", "::1/128"])  # the loopback simulator
    upgrade(settings)
    username, connector_id = asyncio.run(_prepare(settings, sim))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", username, connector_id
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _xlsx_with_errors() -> bytes:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template_workbook("products")))
    sheet = book.worksheets[0]
    headers = [str(c.value) for c in sheet[1]]

    def row(**values: object) -> list[object]:
        return [values.get(h.rsplit("(", 1)[1].rstrip(")")) for h in headers]

    sheet.append(row(source_id="XL-1", kind="book", title="Sổ tay quyền con người cho cán bộ cơ sở",
                     languages="vie; hmn", publication_year=2025))
    sheet.append(row(source_id="XL-2", kind="book", languages="vie"))  # row 3: no title
    sheet.append(row(source_id="XL-3", kind="sach-giay", title="Loại không có trong danh mục"))
    sheet.append(row(source_id="XL-4", kind="book", title="Ngày sai", published_on="31/02/2025"))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_admin_journey_in_chromium(served: tuple[str, str, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, username, connector_id = served
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN",
                                      timezone_id="Asia/Ho_Chi_Minh")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("dialog", lambda dialog: dialog.accept())

        # Sign in (the form is reached by the redirect from a protected page).
        page.goto(f"{base}/console/clients")
        expect(page.get_by_role("heading", name="Đăng nhập quản trị")).to_be_visible()
        page.get_by_label("Tên đăng nhập").fill(username)
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("heading", name="Ứng dụng kết nối và API key")).to_be_visible()

        # A client for agency G16, then an API key, shown once with a copy button.
        page.get_by_label("Cơ quan").select_option("G16")
        page.get_by_label("Tên", exact=True).fill("Hệ thống quản lý xuất bản phẩm")
        page.get_by_role("button", name="Tạo ứng dụng").click()
        expect(page.get_by_text("Hãy lưu khoá bí mật ngay")).to_be_visible()
        page.get_by_label("Tên key").fill("Đồng bộ hằng đêm")
        page.get_by_label("Ngày hết hạn").fill("31/12/2027")
        page.locator("#create-key").click()
        expect(page.get_by_text("Hãy sao chép ngay")).to_be_visible()
        api_key = page.locator("#new-secret").input_value()
        assert api_key.startswith("rhk_")
        page.get_by_role("button", name="Sao chép").click()
        expect(page.get_by_role("button", name="Đã sao chép")).to_be_visible()
        page.screenshot(path=str(ARTEFACTS / "api-key-created.png"), full_page=True)

        # The key works from outside the browser...
        listed = httpx.get(f"{base}/v1/products?limit=1", headers={"X-API-Key": api_key})
        assert listed.status_code == 200, listed.text
        # ...its last use shows after a reload; revoking it stops the next call.
        client_page = page.url.removesuffix("/keys")  # the form posted to .../keys
        page.goto(client_page)
        prefix = "_".join(api_key.split("_")[:2])  # rhk_<key id>; the secret may hold "_"
        row = page.locator(f'tr[data-key="{prefix}"]')
        expect(row).not_to_contain_text("Chưa dùng")
        page.screenshot(path=str(ARTEFACTS / "api-keys.png"), full_page=True)
        row.get_by_role("button", name=f"Thu hồi {prefix}").click()
        expect(page.get_by_text("Đã thu hồi API key")).to_be_visible()
        refused = httpx.get(f"{base}/v1/products?limit=1", headers={"X-API-Key": api_key})
        assert refused.status_code == 401

        # An XLSX with errors: the summary lists them by spreadsheet row, in Vietnamese.
        upload = tmp_path / "san-pham.xlsx"
        upload.write_bytes(_xlsx_with_errors())
        page.get_by_role("link", name="Nhập dữ liệu").click()
        page.get_by_label("Loại hồ sơ").select_option("products")
        page.get_by_label("Cơ quan sở hữu dữ liệu").select_option("G16")
        page.get_by_label("Tệp dữ liệu").set_input_files(str(upload))
        page.get_by_role("button", name="Tải lên và nhập").click()
        expect(page.get_by_role("heading", name="Kết quả nhập")).to_be_visible()
        rows = page.locator("#rejections tbody tr")
        expect(rows).to_have_count(3)
        assert [rows.nth(i).locator("td").first.inner_text() for i in range(3)] == ["3", "4", "5"]
        expect(rows.nth(0)).to_contain_text("title")
        expect(page.locator("#rejections")).to_contain_text("không")  # Vietnamese messages
        expect(page.locator("#import-summary")).to_contain_text("1")
        page.screenshot(path=str(ARTEFACTS / "import-summary.png"), full_page=True)

        # The dashboard, with its filters, charts and heat map; then on a phone.
        page.get_by_role("link", name="Tiến độ chương trình").click()
        expect(page.get_by_role("heading", name="Tiến độ thực hiện Quyết định 1079/QĐ-TTg")
               ).to_be_visible()
        page.get_by_label("Năm", exact=True).select_option("2025")
        page.get_by_role("button", name="Lọc").click()
        expect(page.locator("#indicators .kpi")).to_have_count(7)
        expect(page.locator("#heatmap tbody tr")).to_have_count(34)
        page.screenshot(path=str(ARTEFACTS / "dashboard.png"), full_page=True)
        with page.expect_download() as download:
            page.locator("#export").click()
        assert download.value.suggested_filename.endswith(".xlsx")

        # A connector: the data-quality preview, then "run now" (queued for the worker; the
        # page follows it without blocking).
        page.get_by_role("link", name="Kết nối").click()
        page.get_by_role("link", name="Hệ thống quản lý xuất bản (mô phỏng)").click()
        page.get_by_role("button", name="Xem trước dữ liệu").click()
        expect(page.locator("#preview-result")).to_contain_text("Tỷ lệ có dữ liệu")
        page.screenshot(path=str(ARTEFACTS / "connector-preview.png"), full_page=True)
        page.get_by_role("button", name="Chạy ngay").click()
        expect(page.locator("[data-poll]")).to_be_visible()
        page.screenshot(path=str(ARTEFACTS / "connector-run-queued.png"), full_page=True)
        assert connector_id in page.url

        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                    device_scale_factor=2, locale="vi-VN")
        phone.add_cookies(context.cookies())
        mobile = phone.new_page()
        mobile.goto(f"{base}/console/dashboard?year=2025")
        expect(mobile.locator("#indicators .kpi")).to_have_count(7)
        mobile.screenshot(path=str(ARTEFACTS / "dashboard-phone.png"))

        # English on request; keyboard users get a skip link first.
        page.goto(f"{base}/console/dashboard?year=2025")
        page.get_by_role("link", name="English").click()
        expect(page.get_by_role("heading", name="Progress on Decision 1079/QĐ-TTg")).to_be_visible()
        page.screenshot(path=str(ARTEFACTS / "dashboard-en.png"))
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
        browser.close()
    for name in ("dashboard.png", "api-key-created.png", "api-keys.png", "import-summary.png"):
        assert (ARTEFACTS / name).stat().st_size > 10_000
