"""The connector form in Chromium: fill the fields, add a mapping row with the button, save;
the stored configuration is what the fields say, and the JSON tab shows it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

import connectors
from hub import Hub, Settings
from tests.connectors import SIM_SECRET, running_simulator
from tests.console._helpers import PASSWORD
from tests.console.test_browser import ARTEFACTS, CHROMIUM, CHROMIUM_ARGS, _serve

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed (.ci/chromium)")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str, Path]]:
    folder = tmp_path_factory.mktemp("console-form")
    with running_simulator(folder, "--records", "5", "--seed", "2") as sim:
        for base, username, _connector in _serve(folder, sim):
            yield base, username, sim.base_url, folder


def _stored(folder: Path, name: str) -> list[connectors.ConnectorInfo]:
    async def read() -> list[connectors.ConnectorInfo]:
        hub = Hub(Settings(database_url=f"sqlite:///{folder / 'hub.db'}", environment="test"))
        try:
            return [c for c in await connectors.list_connectors(hub) if c.name == name]
        finally:
            await hub.close()
    return asyncio.run(read())


def test_connector_form_in_chromium(served: tuple[str, str, str, Path]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, username, sim_url, folder = served
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="vi-VN")
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/console/connectors")
        page.get_by_label("Tên đăng nhập").fill(username)
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("heading", name="Kết nối dữ liệu")).to_be_visible()

        form = page.locator("#connector-form")
        form.get_by_label("Cơ quan", exact=True).select_option("G16")
        form.get_by_label("Tên", exact=True).fill("Xuất bản G16 (Chromium)")
        form.get_by_label("Địa chỉ API (base URL)").fill(sim_url)
        form.get_by_label("Kiểu xác thực").select_option("oauth2")
        form.get_by_label("Mã ứng dụng (client id)").fill("hub-trung-uong")
        form.get_by_label("Tên luồng", exact=True).fill("an-pham")
        form.get_by_label("Loại hồ sơ", exact=True).select_option("products")
        form.get_by_label("Đường dẫn dữ liệu").fill("/api/an-pham")
        form.get_by_label("Vị trí danh sách bản ghi").fill("du_lieu")
        form.get_by_label("Trường khoá của cơ quan").fill("ma_so")
        form.get_by_label("Kiểu phân trang").select_option("cursor")
        form.get_by_label("Số bản ghi mỗi trang").fill("20")
        form.get_by_label("Tham số cỡ trang").fill("so_ban_ghi")
        form.get_by_label("Tham số con trỏ").fill("con_tro")
        form.get_by_label("Vị trí con trỏ tiếp theo").fill("con_tro_tiep")
        rows = form.locator("[data-row]")
        expect(rows).to_have_count(1)
        rows.nth(0).locator("select[name=map_target]").select_option("title")
        rows.nth(0).locator("input[name=map_source]").fill("ten_an_pham")
        form.get_by_role("button", name="+ Thêm dòng ánh xạ").click()
        expect(rows).to_have_count(2)
        rows.nth(1).locator("select[name=map_target]").select_option("kind")
        rows.nth(1).locator("input[name=map_source]").fill("loai")
        rows.nth(1).locator("input[name=map_values]").fill("sach=book; video=video")
        form.get_by_role("button", name="+ Thêm dòng ánh xạ").click()
        expect(rows).to_have_count(3)
        rows.nth(2).get_by_role("button", name="Xoá dòng").click()  # an empty row, removed
        expect(rows).to_have_count(2)
        form.locator("#n-client_secret").fill(SIM_SECRET)
        page.screenshot(path=str(ARTEFACTS / "connector-form.png"), full_page=True)
        form.get_by_role("button", name="Thêm connector").click()
        expect(page.get_by_text("Đã lưu connector.")).to_be_visible()

        # The edit page: the fields again, and the same configuration in the JSON tab.
        expect(page.locator("#e-tab-fields")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#e-panel-json")).to_be_hidden()
        page.locator("#e-tab-json").click()
        expect(page.locator("#e-panel-json")).to_be_visible()
        expect(page.locator("input[name=config_tab]")).to_have_value("json")
        assert '"con_tro_tiep"' in page.locator("#e-config").input_value()
        page.locator("#e-tab-fields").click()
        expect(page.locator("input[name=config_tab]")).to_have_value("fields")
        browser.close()
    assert errors == []
    stored = _stored(folder, "Xuất bản G16 (Chromium)")
    assert len(stored) == 1
    stream = stored[0].config["streams"][0]
    assert stored[0].config["auth"]["client_id"] == "hub-trung-uong"
    assert stream["pagination"]["style"] == "cursor" and stream["pagination"]["page_size"] == 20
    assert stream["mapping"]["fields"]["kind"]["map"] == {"sach": "book", "video": "video"}
    assert set(stream["mapping"]["fields"]) == {"title", "kind"}
