"""Connector pages against a real agency simulator on loopback (SQLite and PostgreSQL):
configure through the form, check, preview with the data-quality report, run now (queued for
the worker, the page polls), run history with counts; another agency's admin sees nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

import connectors
from hub import Hub
from tests.connectors import SIM_SECRET, Simulator, running_simulator, sim_config
from tests.console._helpers import csrf, new_admin, sign_in

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with running_simulator(tmp_path_factory.mktemp("sim"), "--records", "40",
                           "--seed", "3") as simulator:
        yield simulator


async def test_configure_check_preview_run_and_history(
    hub: Hub, client: httpx.AsyncClient, sim: Simulator
) -> None:
    await sign_in(client, await new_admin(hub, role="agency_admin", agency="G16"))
    token = await csrf(client, "/console/connectors")
    bad = await client.post("/console/connectors", data={
        "csrf_token": token, "agency": "G16", "name": "x", "kind": "rest",
        "config": "{not json", "schedule_minutes": "60"})
    assert bad.status_code == 400 and "không phải JSON hợp lệ" in bad.text
    # The name's length is the admin API's ConnectorCreate rule, refused in place.
    long_name = await client.post("/console/connectors", data={
        "csrf_token": token, "agency": "G16", "name": "x" * 301, "kind": "rest",
        "config": json.dumps(sim_config(sim)), "schedule_minutes": "60"})
    assert long_name.status_code == 400
    assert "Tên: Không được dài quá 300 ký tự" in long_name.text
    made = await client.post("/console/connectors", data={
        "csrf_token": token, "agency": "G16", "name": "Hệ thống xuất bản G16",
        "kind": "rest", "config": json.dumps(sim_config(sim)), "schedule_minutes": "1440",
        "enabled": "1", "client_secret": SIM_SECRET})
    assert made.status_code == 303, made.text
    page_url = made.headers["location"].split("?")[0]
    cid = page_url.rsplit("/", 1)[1]
    page = await client.get(page_url)
    assert "Hệ thống xuất bản G16" in page.text and SIM_SECRET not in page.text
    assert "Đã đặt" in page.text  # which secrets are set, never their value

    check = await client.post(f"{page_url}/check", data={"csrf_token": token})
    assert check.status_code == 200 and "Kết nối và xác thực thành công" in check.text
    preview = await client.post(f"{page_url}/preview", data={"csrf_token": token})
    assert preview.status_code == 200
    report = preview.text[preview.text.index('id="preview-result"'):]
    assert "<code>title</code>" in report and "Tỷ lệ có dữ liệu" in report

    queued = await client.post(f"{page_url}/run", data={"csrf_token": token})
    assert queued.status_code == 303
    page = await client.get(page_url)
    assert f'data-poll="/console/connectors/{cid}/status"' in page.text
    status = (await client.get(f"{page_url}/status")).json()
    assert status["state"] == "queued"
    run = await connectors.run_connector(hub, cid)  # what the worker does
    history = await client.get(page_url)
    runs = history.text[history.text.index('id="runs"'):]
    assert re.search(rf'<td class="num">{run["fetched"]}</td>', runs)
    assert run["fetched"] > 0
    # A reconciliation's counts, with their Vietnamese labels; the simulator purged two.
    sim.mutate(purge=2)
    reconciled = await connectors.reconcile_connector(hub, cid)
    assert reconciled["gone"] == 2, reconciled
    runs = (await client.get(page_url)).text
    runs = runs[runs.index('id="runs"'):]
    assert "Đối soát" in runs
    assert re.search(r"thiếu trong hub 0 · cũ hơn nguồn 0 · đã xoá ở nguồn 2", runs), runs

    await sign_in(client, await new_admin(hub, role="agency_admin", agency="G15"))
    assert (await client.get(page_url)).status_code == 404
    assert cid not in (await client.get("/console/connectors")).text
    # No connector outlives its test: another suite's worker would try to run it.
    async with hub.db.transaction() as session:
        await connectors.delete_connector(session, cid)


async def test_config_with_a_key_twice_is_refused(hub: Hub, client: httpx.AsyncClient) -> None:
    await sign_in(client, await new_admin(hub, role="agency_admin", agency="G16"))
    token = await csrf(client, "/console/connectors")
    bad = await client.post("/console/connectors", data={
        "csrf_token": token, "agency": "G16", "name": "x", "kind": "rest",
        "config": '{"base_url": "http://127.0.0.1:9/", "base_url": "http://127.0.0.1:8/"}',
        "schedule_minutes": "60"})
    assert bad.status_code == 400 and "khóa trùng lặp" in bad.text, bad.text
