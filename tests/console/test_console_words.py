"""The console in Vietnamese throughout: run states, triggers, record kinds, vocabularies and
visibility as words (the code kept as a tooltip), rejected codes listed with their words;
and the connector form: fields give the same stored configuration as the JSON, mistakes are
explained on the form with the values kept, the JSON tab still works."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import connectors
from hub import Hub, Principal
from tests.connectors import SIM_SECRET, Simulator, running_simulator, sim_config
from tests.console._helpers import csrf, new_admin, sign_in

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with running_simulator(tmp_path_factory.mktemp("sim"), "--records", "12",
                           "--seed", "5") as simulator:
        yield simulator


def fields_of(sim: Simulator, **overrides: str) -> dict[str, Any]:
    """The connector form's fields for the simulator's publications endpoint."""
    values: dict[str, Any] = {
        "config_tab": "fields", "agency": "G16", "name": "Xuất bản G16 (biểu mẫu)",
        "kind": "rest", "schedule_minutes": "1440", "enabled": "1",
        "client_secret": SIM_SECRET,
        "base_url": sim.base_url, "auth_type": "oauth2", "auth_header": "X-API-Key",
        "auth_token_path": "/oauth/token", "auth_client_id": "hub-trung-uong",
        "auth_method": "client_secret_basic", "auth_scope": "",
        "stream_name": "an-pham", "stream_record_type": "products", "stream_path": "/api/an-pham",
        "stream_records_path": "du_lieu", "source_id": "ma_so",
        "page_style": "cursor", "page_size": "50", "page_size_param": "so_ban_ghi",
        "page_param": "trang", "page_offset_param": "vi_tri", "page_cursor_param": "con_tro",
        "page_next_cursor_path": "con_tro_tiep",
        "inc_cursor_field": "cap_nhat_luc", "inc_since_param": "cap_nhat_tu",
        "inc_cursor_format": "iso",
        "map_target": ["title", "kind", "published_on"],
        "map_source": ["ten_an_pham", "loai", "ngay_phat_hanh"],
        "map_values": ["", "sach=book; phong_su_truyen_hinh=tv_item; video=video", ""],
        "map_date": ["", "", "dd/mm/yyyy"],
    }
    values.update(overrides)
    return values


def json_of(sim: Simulator) -> dict[str, Any]:
    """What the same fields mean, written as the JSON tab would hold it."""
    return {
        "kind": "rest", "base_url": sim.base_url,
        "auth": {"type": "oauth2", "client_id": "hub-trung-uong", "token_path": "/oauth/token",
                 "method": "client_secret_basic"},
        "streams": [{
            "name": "an-pham", "record_type": "products", "path": "/api/an-pham",
            "records_path": "du_lieu",
            "pagination": {"style": "cursor", "page_size": 50, "size_param": "so_ban_ghi",
                           "page_param": "trang", "offset_param": "vi_tri",
                           "cursor_param": "con_tro", "next_cursor_path": "con_tro_tiep"},
            "incremental": {"cursor_field": "cap_nhat_luc", "since_param": "cap_nhat_tu"},
            "mapping": {"source_id": "ma_so", "fields": {
                "title": {"from": "ten_an_pham"},
                "kind": {"from": "loai", "map": {"sach": "book", "phong_su_truyen_hinh": "tv_item",
                                                 "video": "video"}},
                "published_on": {"from": "ngay_phat_hanh", "date_format": "dd/mm/yyyy"},
            }},
        }],
    }


def _id_of(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:2000]
    return response.headers["location"].split("?")[0].rsplit("/", 1)[1]


async def _drop(hub: Hub, *ids: str) -> None:
    # No connector outlives its test: another suite's worker would try to run it.
    async with hub.db.transaction() as session:
        for cid in ids:
            await connectors.delete_connector(session, cid)


def _tab_selected(page: str, tab: str) -> bool:
    return bool(re.search(rf'id="e-tab-{tab}" data-tab="{tab}"[^>]*aria-selected="true"', page))


async def test_fields_and_json_give_the_same_config(
    hub: Hub, client: httpx.AsyncClient, sim: Simulator
) -> None:
    await sign_in(client, await new_admin(hub, role="agency_admin", agency="G16"))
    token = await csrf(client, "/console/connectors")
    page = await client.get("/console/connectors")
    assert 'name="config_tab" value="fields"' in page.text and "Nâng cao (JSON)" in page.text
    assert '<option value="products" selected>Sản phẩm truyền thông</option>' in page.text
    assert "Theo con trỏ" in page.text  # pagination styles as words
    assert 'src="/console/static/connector-form.js"' in page.text
    assert (await client.get("/console/static/connector-form.js")).status_code == 200

    by_fields = _id_of(await client.post("/console/connectors",
                                         data={"csrf_token": token, **fields_of(sim)}))
    by_json = _id_of(await client.post("/console/connectors", data={
        "csrf_token": token, "config_tab": "json", "agency": "G16", "name": "Xuất bản (JSON)",
        "kind": "rest", "schedule_minutes": "1440", "client_secret": SIM_SECRET,
        # the fields are sent too (one form); the submitted tab decides
        "base_url": "https://khong-dung.example", "config": json.dumps(json_of(sim))}))
    try:
        made = await connectors.get_connector(hub, by_fields)
        same = await connectors.get_connector(hub, by_json)
        assert made.config == same.config
        assert made.config["streams"][0]["mapping"]["fields"]["kind"]["map"]["sach"] == "book"

        # The edit page shows it as fields again (form tab first, the rows filled in).
        edit = (await client.get(f"/console/connectors/{by_fields}")).text
        assert _tab_selected(edit, "fields") and "json-note" not in edit
        shown = re.search(r'name="map_values" maxlength="2000" value="([^"]*tv_item[^"]*)"', edit)
        assert shown, edit  # (PostgreSQL keeps JSON keys in an order of its own)
        assert sorted(shown.group(1).split("; ")) == [
            "phong_su_truyen_hinh=tv_item", "sach=book", "video=video"]
        assert '<option value="published_on" selected>' in edit
        # Saving the unchanged fields keeps the stored configuration as it is.
        saved = await client.post(f"/console/connectors/{by_fields}", data={
            "csrf_token": token, **fields_of(sim)})
        assert saved.status_code == 303, saved.text[:2000]
        assert (await connectors.get_connector(hub, by_fields)).config == made.config

        # It runs: the run shows in Vietnamese ("Thành công", "Chạy thủ công").
        run = await connectors.run_connector(hub, by_fields)
        assert run["status"] == "succeeded" and run["fetched"] > 0
        runs = (await client.get(f"/console/connectors/{by_fields}")).text
        runs = runs[runs.index('id="runs"'):runs.index("</table>", runs.index('id="runs"'))]
        assert "Thành công" in runs and "Chạy thủ công" in runs
        assert ">succeeded<" not in runs and ">manual<" not in runs
        assert 'title="succeeded"' in runs  # the code stays as a tooltip for admins
        listing = (await client.get("/console/connectors")).text
        assert "API REST của cơ quan" in listing and ">rest<" not in listing

        # The records it brought show their kinds as words, not codes.
        records = (await client.get("/console/records?type=products&agency=G16")).text
        table = records[records.index("<tbody>"):]
        assert re.search(r'<span title="(book|tv_item|video)">(Sách|Video|Tác phẩm)', table)
        assert not re.search(r"<td>(book|tv_item|video)</td>", table)
        assert '<select id="r-kind" name="kind">' in records and ">Sách</option>" in records
    finally:
        await _drop(hub, by_fields, by_json)


async def test_a_config_the_form_cannot_show_opens_on_the_json_tab(
    hub: Hub, client: httpx.AsyncClient, sim: Simulator
) -> None:
    await sign_in(client, await new_admin(hub, role="agency_admin", agency="G16"))
    token = await csrf(client, "/console/connectors")
    cid = _id_of(await client.post("/console/connectors", data={
        "csrf_token": token, "agency": "G16", "name": "Đầy đủ tuỳ chọn", "kind": "rest",
        "config": json.dumps(sim_config(sim)), "schedule_minutes": "60",
        "client_secret": SIM_SECRET}))  # no config_tab: a script's post, the JSON is used
    try:
        page = (await client.get(f"/console/connectors/{cid}")).text
        assert _tab_selected(page, "json") and 'id="e-json-note"' in page
        assert "nhiều luồng hoặc tuỳ chọn" in page
        # The JSON tab saves as before; a broken JSON is explained, the text kept.
        bad = await client.post(f"/console/connectors/{cid}", data={
            "csrf_token": token, "config_tab": "json", "name": "Đầy đủ tuỳ chọn",
            "config": '{"kind": "rest",'})
        assert bad.status_code == 400 and 'id="form-error"' in bad.text
        assert "không phải JSON hợp lệ" in bad.text
        assert "{&#34;kind&#34;: &#34;rest&#34;," in bad.text  # the text typed is kept
        config = sim_config(sim)
        config["streams"][0]["pagination"]["page_size"] = 20
        ok = await client.post(f"/console/connectors/{cid}", data={
            "csrf_token": token, "config_tab": "json", "name": "Đầy đủ tuỳ chọn",
            "config": json.dumps(config), "schedule_minutes": "60"})
        assert ok.status_code == 303, ok.text[:2000]
        stored = await connectors.get_connector(hub, cid)
        assert stored.config["streams"][0]["pagination"]["page_size"] == 20
        assert stored.config["retry"]["attempts"] == 30  # what the fields cannot show stays
    finally:
        await _drop(hub, cid)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"page_size": "nhiều"}, "Số bản ghi mỗi trang phải là số nguyên dương"),
    ({"page_size": "99999"}, "số bản ghi mỗi trang: lớn quá mức cho phép (tối đa 10000)"),
    ({"stream_path": "api/an-pham"}, "đường dẫn dữ liệu phải bắt đầu bằng /"),
    ({"auth_client_id": ""}, "OAuth2 cần mã ứng dụng (client id)"),
    ({"page_style": "trang"}, "Kiểu phân trang &#39;trang&#39; không hợp lệ; chọn một trong: "
                              "page (Theo số trang), offset"),
    ({"map_target": ["title", "loai_sp", "published_on"]},
     "Dòng ánh xạ 2: trường &#39;loai_sp&#39; không hợp lệ; chọn một trong: visibility "
     "(Phạm vi chia sẻ), source_updated_at"),
    ({"map_values": ["", "sach->book", ""]}, "phải có dạng “a=b; c=d”"),
])
async def test_a_bad_field_is_explained_on_the_form_with_the_values_kept(
    hub: Hub, client: httpx.AsyncClient, sim: Simulator, overrides: dict[str, Any],
    message: str,
) -> None:
    await sign_in(client, await new_admin(hub, role="agency_admin", agency="G16"))
    token = await csrf(client, "/console/connectors")
    answer = await client.post("/console/connectors", data={
        "csrf_token": token, **fields_of(sim, name="Tên được giữ lại", **overrides)})
    assert answer.status_code == 400, answer.text[:500]
    error = answer.text[answer.text.index('id="form-error"'):]
    error = error[:error.index("</div>")]
    assert message in error, error
    assert 'value="Tên được giữ lại"' in answer.text
    assert f'value="{sim.base_url}"' in answer.text and 'value="ten_an_pham"' in answer.text
    assert 'name="config_tab" value="fields"' in answer.text
    assert SIM_SECRET not in answer.text  # secrets are never sent back
    assert await connectors.list_connectors(hub, agency="G16") == []


async def test_rejected_codes_are_listed_with_their_words(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    await sign_in(client, await new_admin(hub))
    token = await csrf(client, "/console/connectors")
    wrong = await client.post("/console/connectors", data={
        "csrf_token": token, "agency": "G16", "name": "x", "kind": "ftp", "config": "{}"})
    assert wrong.status_code == 400
    assert ("Loại connector &#39;ftp&#39; không hợp lệ; chọn một trong: rest (API REST của cơ "
            "quan), hub (Luồng thay đổi của hub khác)") in wrong.text
    imported = await client.post("/console/import", data={
        "csrf_token": token, "record_type": "sach", "agency": "G16"})
    assert imported.status_code == 400
    assert "products (Sản phẩm truyền thông)" in imported.text


async def test_record_pages_show_vocabulary_words(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    principal = Principal("seed-G16", "G16", frozenset(), "file")
    await hub.ingest.ingest(principal, "products", [
        {"source_id": "TU-1", "kind": "book", "title": "Sổ tay quyền trẻ em",
         "languages": ["vie", "hmn"], "themes": ["rights_children"], "visibility": "public",
         "publication_year": 2025},
        {"source_id": "TU-2", "kind": "tv_item", "title": "Phóng sự quyền phụ nữ",
         "visibility": "shared", "publication_year": 2025},
    ])
    await sign_in(client, await new_admin(hub))
    listing = (await client.get("/console/records?type=products&agency=G16")).text
    assert '<span title="book">Sách</span>' in listing
    assert '<span title="tv_item">Tác phẩm truyền hình' in listing
    assert "<td>book</td>" not in listing and "<td>tv_item</td>" not in listing
    record_id = re.search(r'href="/console/records/([^"]+)">Sổ tay', listing)
    assert record_id
    record = (await client.get(f"/console/records/{record_id.group(1)}")).text
    details = record[:record.index("records.history") if "records.history" in record
                     else record.index("Lịch sử thay đổi")]
    assert '<span title="book">Sách</span>' in details
    assert '<span title="public">Công khai</span>' in details
    assert '<span title="vie">Tiếng Việt</span>' in details
    assert '<span title="file">Nhập tệp</span>' in details
    english = await client.get("/console/lang/en?next=/console/records/" + record_id.group(1))
    assert english.status_code in (302, 303)
    record_en = (await client.get(f"/console/records/{record_id.group(1)}")).text
    assert '<span title="book">Book</span>' in record_en


async def test_agency_kinds_are_words(hub: Hub, client: httpx.AsyncClient) -> None:
    await sign_in(client, await new_admin(hub))
    listing = (await client.get("/console/agencies")).text
    form = listing[listing.index('id="n-kind"'):]
    form = form[:form.index("</select>")]
    assert '<option value="ministry">Bộ</option>' in form
    assert '<option value="province">Tỉnh</option>' in form
    assert ">ministry<" not in form
    detail = (await client.get("/console/agencies/G16")).text
    assert '<span title="ministry">Bộ</span>' in detail
    token = await csrf(client, "/console/agencies")
    made = await client.post("/console/agencies", data={
        "csrf_token": token, "code": "TK-1", "name": "Cơ quan thử", "level": "central",
        "kind": "government-agency", "valid_from": "01/07/2025"})
    assert made.status_code in (200, 303), made.text[:500]
    made_page = (await client.get("/console/agencies/TK-1")).text
    assert '<span title="government-agency">Cơ quan thuộc Chính phủ</span>' in made_page
