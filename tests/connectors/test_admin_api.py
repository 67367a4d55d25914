"""/v1/admin/connectors: hub admins and agency admins (their agency only), secrets never
shown, bad definitions refused with problem details, every write audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from auth._admins import create_admin, get_admin, start_session
from hub import Hub
from tests.api._helpers import assert_problem
from tests.conftest import auth
from tests.connectors import SIM_SECRET, Simulator, running_simulator, sim_config

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with running_simulator(tmp_path_factory.mktemp("sim"), "--records", "60") as simulator:
        yield simulator


ADMINS = {"hub": ("con-hub-admin", "hub_admin", None),
          "g16": ("con-g16-admin", "agency_admin", "G16"),
          "g15": ("con-g15-admin", "agency_admin", "G15")}


@pytest.fixture
async def tokens(chub: Hub) -> dict[str, dict[str, str]]:
    """Admin session tokens, issued as the login does (without hashing passwords again)."""
    out = {}
    for name, (username, role, agency) in ADMINS.items():
        admin = await get_admin(chub, username) or await create_admin(
            chub, username=username, role=role, agency=agency, sso_subject=f"sso-{username}")
        issued = await start_session(chub, admin)
        out[name] = {"Authorization": f"Bearer {issued.access_token}"}
    return out


def _body(sim: Simulator, agency: str = "G16", **extra: Any) -> dict[str, Any]:
    return {"agency": agency, "name": "Sở TT&TT (mô phỏng)", "kind": "rest",
            "config": sim_config(sim), "secrets": {"client_secret": SIM_SECRET},
            "schedule_seconds": 600, **extra}


async def test_the_connector_lifecycle(
    client: httpx.AsyncClient, tokens: dict[str, dict[str, str]], sim: Simulator
) -> None:
    created = await client.post("/v1/admin/connectors", headers=tokens["g16"], json=_body(sim))
    assert created.status_code == 201, created.text
    connector = created.json()
    cid = connector["id"]
    assert connector["secrets_set"] == ["client_secret"]
    assert SIM_SECRET not in created.text
    check = await client.post(f"/v1/admin/connectors/{cid}/check", headers=tokens["g16"])
    assert check.status_code == 200 and check.json()["ok"], check.text
    preview = await client.post(f"/v1/admin/connectors/{cid}/preview", headers=tokens["g16"])
    assert preview.status_code == 200, preview.text
    assert preview.json()["streams"][0]["would"]["created"] == 60
    run = await client.post(f"/v1/admin/connectors/{cid}/run", headers=tokens["g16"],
                            json={"full_refresh": True})
    assert run.status_code == 202 and run.json()["full_refresh_requested"]
    patched = await client.patch(f"/v1/admin/connectors/{cid}", headers=tokens["g16"],
                                 json={"enabled": False, "schedule_seconds": 120})
    assert patched.status_code == 200
    assert (patched.json()["enabled"], patched.json()["schedule_seconds"]) == (False, 120)
    runs = await client.get(f"/v1/admin/connectors/{cid}/runs", headers=tokens["g16"])
    assert runs.status_code == 200 and runs.json() == {"items": []}
    listed = await client.get("/v1/admin/connectors", headers=tokens["hub"])
    assert [c["id"] for c in listed.json()["items"]] == [cid]
    audit = await client.get("/v1/admin/audit", headers=tokens["hub"],
                             params={"action": "admin.connectors.create"})
    assert audit.json()["items"][0]["agency"] == "G16"
    deleted = await client.delete(f"/v1/admin/connectors/{cid}", headers=tokens["g16"])
    assert deleted.status_code == 204
    gone = await client.get(f"/v1/admin/connectors/{cid}", headers=tokens["g16"])
    assert_problem(gone, 404)


async def test_agency_admins_see_only_their_own(
    client: httpx.AsyncClient, tokens: dict[str, dict[str, str]], sim: Simulator
) -> None:
    other = await client.post("/v1/admin/connectors", headers=tokens["g15"],
                              json=_body(sim, "G16"))
    assert_problem(other, 403)
    cid = (await client.post("/v1/admin/connectors", headers=tokens["g16"],
                             json=_body(sim))).json()["id"]
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/check"),
                         ("POST", "/preview"), ("POST", "/run"), ("GET", "/runs")):
        response = await client.request(method, f"/v1/admin/connectors/{cid}{path}",
                                        headers=tokens["g15"],
                                        json={} if method == "PATCH" else None)
        assert_problem(response, 404)
    mine = await client.get("/v1/admin/connectors", headers=tokens["g15"])
    assert mine.json() == {"items": []}
    assert_problem(await client.get("/v1/admin/connectors", headers=auth("g16")), 403)


BAD = [
    ({"base_url": "file:///etc/passwd"}, "base_url"),
    ({"base_url": "http://user:pw@agency.test"}, "base_url"),
    ({"streams": []}, "streams"),
    ({"auth": {"type": "oauth2"}}, "auth"),
]


async def test_bad_definitions_are_refused(
    client: httpx.AsyncClient, tokens: dict[str, dict[str, str]], sim: Simulator,
) -> None:
    for change, where in BAD:
        body = _body(sim)
        body["config"].update(change)
        response = await client.post("/v1/admin/connectors", headers=tokens["hub"], json=body)
        assert_problem(response, 400)
        assert where in response.json()["detail"], (change, response.json())
    # Where it points is the outbound guard's: 422, naming the address and the reason.
    body = _body(sim)
    body["config"]["base_url"] = "http://169.254.169.254/latest"
    refused = assert_problem(
        await client.post("/v1/admin/connectors", headers=tokens["hub"], json=body), 422)
    assert "169.254.169.254" in refused["detail_en"] and "link-local" in refused["detail_en"]


async def test_a_bad_mapping_is_refused(
    client: httpx.AsyncClient, tokens: dict[str, dict[str, str]], sim: Simulator
) -> None:
    body = _body(sim)
    body["config"]["streams"][0]["mapping"]["fields"]["khong_co"] = {"from": "x"}
    assert_problem(await client.post("/v1/admin/connectors", headers=tokens["hub"],
                                     json=body), 400)
    body = _body(sim, kind="ftp")
    assert_problem(await client.post("/v1/admin/connectors", headers=tokens["hub"],
                                     json=body), 400)


async def test_an_unreachable_agency_is_a_502_on_preview(
    client: httpx.AsyncClient, tokens: dict[str, dict[str, str]], sim: Simulator,
    tmp_path: Path,
) -> None:
    from tests.integration import free_port

    body = _body(sim)
    body["config"]["base_url"] = f"http://127.0.0.1:{free_port()}"
    body["config"]["retry"] = {"attempts": 2, "initial_seconds": 0.01, "deadline_seconds": 1}
    cid = (await client.post("/v1/admin/connectors", headers=tokens["hub"],
                             json=body)).json()["id"]
    preview = await client.post(f"/v1/admin/connectors/{cid}/preview", headers=tokens["hub"])
    assert_problem(preview, 502)
    check = await client.post(f"/v1/admin/connectors/{cid}/check", headers=tokens["hub"])
    assert check.status_code == 200 and not check.json()["ok"]
