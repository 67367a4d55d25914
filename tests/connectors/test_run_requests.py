"""Issue 24 item 13: a run an admin asks for is recorded as "manual" with who asked; run
errors beyond the 50 kept are counted; the preview warns about text left in a legacy
encoding and about a page size above what the agency serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import connectors
from auth._admins import create_admin, get_admin, start_session
from hub import Hub
from tests.connectors import Simulator, running_simulator, sim_config

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with running_simulator(tmp_path_factory.mktemp("sim"), "--records", "120",
                           "--max-page-size", "40", "--tcvn3-share", "0.5") as simulator:
        yield simulator


async def _admin(hub: Hub) -> dict[str, str]:
    admin = await get_admin(hub, "run-req-admin") or await create_admin(
        hub, username="run-req-admin", role="hub_admin", sso_subject="sso-run-req-admin")
    issued = await start_session(hub, admin)
    return {"Authorization": f"Bearer {issued.access_token}"}


async def _create(client: httpx.AsyncClient, headers: dict[str, str], config: dict) -> str:
    created = await client.post("/v1/admin/connectors", headers=headers, json={
        "agency": "08", "name": "Tuyên Quang", "kind": "rest", "config": config,
        "secrets": {"client_secret": "bi-mat-mo-phong-0123456789"}})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_a_run_asked_for_through_the_api_is_manual(
    chub: Hub, client: httpx.AsyncClient, sim: Simulator
) -> None:
    headers = await _admin(chub)
    cid = await _create(client, headers, sim_config(sim, page_size=40))
    worker = connectors.Worker(chub, worker_id="w-requests", lease_seconds=30)
    await worker.run_once()  # the first, scheduled run (due at creation)
    assert (await client.post(f"/v1/admin/connectors/{cid}/run", headers=headers,
                              json={})).status_code == 202
    await worker.run_once()
    await worker.run_once()  # nothing asked, nothing due: no third run
    runs = (await client.get(f"/v1/admin/connectors/{cid}/runs", headers=headers)).json()
    assert [(r["trigger"], r["requested_by"]) for r in runs["items"]] == [
        ("manual", "run-req-admin"), ("schedule", None)], runs


async def test_run_errors_beyond_the_kept_ones_are_counted(
    chub: Hub, sim: Simulator
) -> None:
    config = sim_config(sim, page_size=40)
    # A constant the standard refuses: every record is rejected.
    config["streams"][0]["mapping"]["fields"]["kind"] = {"value": "not-a-kind"}
    async with chub.db.transaction() as session:
        info = await connectors.create_connector(
            chub, session, agency="08", name="x", kind="rest", config=config,
            secrets=connectors.Secrets.model_validate(
                {"client_secret": "bi-mat-mo-phong-0123456789"}))
    cid = info.id
    run = await connectors.run_connector(chub, cid, full_refresh=True)
    ended = 1 if run["status"] == "failed" else 0  # the error that ended it is kept too
    limit = connectors._runs.MAX_RUN_ERRORS
    assert run["rejected"] > limit
    assert len(run["errors"]) == limit + ended
    # Every rejection counted (and any note of the run, such as a shift), kept or not.
    assert run["errors_total"] >= run["rejected"] + ended > len(run["errors"])


async def test_the_preview_warns_about_legacy_text_and_a_page_size_too_large(
    chub: Hub, client: httpx.AsyncClient, sim: Simulator, tmp_path: Path
) -> None:
    headers = await _admin(chub)
    config = sim_config(sim, page_size=100, pagination="page")
    config["streams"][0]["mapping"]["fields"]["title"] = {"from": "ten_an_pham",
                                                          "encoding": "verbatim"}
    cid = await _create(client, headers, config)
    preview = await client.post(f"/v1/admin/connectors/{cid}/preview", headers=headers)
    assert preview.status_code == 200, preview.text
    warnings = {w["code"]: w for w in preview.json()["streams"][0]["warnings"]}
    assert warnings["legacy_text_left"]["field"] == "title"
    assert warnings["legacy_text_left"]["records"] >= 5
    assert warnings["page_size_above_agency_limit"]["served"] == 40
    assert "page_size" in warnings["page_size_above_agency_limit"]["message_vi"]
    # Fixed: no warnings.
    fixed = sim_config(sim, page_size=40, pagination="page")
    cid = await _create(client, headers, fixed)
    preview = await client.post(f"/v1/admin/connectors/{cid}/preview", headers=headers)
    assert preview.json()["streams"][0]["warnings"] == []
