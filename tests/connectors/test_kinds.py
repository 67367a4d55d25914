"""Connector kinds are one extension point (``connectors._kinds``): a kind registered by a test
alone (a kind that reads nothing: its records are in its definition) is taken by the admin
API, the services, the runner, the worker and the console without any other change; a kind
nobody registered is refused with a problem naming the registered ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, Literal

import httpx
import pytest
from pydantic import Field

import connectors
import schemas
from auth._admins import create_admin, get_admin, start_session
from hub import Hub, ImportSummary, InvalidInput
from tests.api._helpers import assert_problem
from tests.console._helpers import new_admin, sign_in

pytestmark = pytest.mark.anyio

RUN = uuid.uuid4().hex[:8]  # the records are new to the database each time
BOOKS = [{"source_id": f"IN-{RUN}-{n}", "kind": "book", "title": f"Sách nhập sẵn {n}",
          "languages": ["vie"]} for n in range(1, 4)]


class InlineConfig(connectors.ConnectorConfig):
    """The records themselves, in the definition."""

    kind: Literal["inline"] = "inline"
    record_type: schemas.RecordTypeName = "products"
    records: list[dict[str, Any]] = Field(min_length=1, max_length=100)


async def _run(ctx: connectors.RunContext, full: bool) -> None:
    config = ctx.conn.config
    assert isinstance(config, InlineConfig)
    await ctx.ingest(config.record_type, list(config.records), fetched=len(config.records))


async def _check(hub: Hub, conn: connectors.Connection) -> dict[str, Any]:
    return {"ok": True, "steps": [{"step": "config", "ok": True, "ms": 0}]}


async def _preview(hub: Hub, conn: connectors.Connection) -> dict[str, Any]:
    config = conn.config
    assert isinstance(config, InlineConfig)
    summary = await hub.ingest.ingest(conn.principal(), config.record_type,
                                      list(config.records), dry_run=True)
    assert isinstance(summary, ImportSummary)
    return {"connector": conn.id, "streams": [{"stream": "inline",
                                               "records": len(config.records),
                                               "would": {"created": summary.created}}]}


INLINE = connectors.ConnectorKind(
    name="inline", config=InlineConfig, run=_run, check=_check, preview=_preview,
    label_vi="Bản ghi nhập sẵn", label_en="Records given inline", secrets=(),
    new_config={"kind": "inline", "records": []})


@pytest.fixture
def inline() -> Iterator[connectors.ConnectorKind]:
    with connectors.registered(INLINE) as kind:
        yield kind
    assert "inline" not in connectors.kind_names()


@pytest.fixture
async def admin(chub: Hub) -> dict[str, str]:
    user = await get_admin(chub, "kinds-hub-admin") or await create_admin(
        chub, username="kinds-hub-admin", role="hub_admin", agency=None,
        sso_subject="sso-kinds-hub-admin")
    issued = await start_session(chub, user)
    return {"Authorization": f"Bearer {issued.access_token}"}


def _body(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"agency": "G16", "name": "Bản ghi nhập sẵn", "kind": kind, "config": config,
            "schedule_seconds": 600}


async def test_a_kind_registered_alone_runs_through_api_service_runner_and_worker(
    chub: Hub, client: httpx.AsyncClient, admin: dict[str, str],
    inline: connectors.ConnectorKind,
) -> None:
    assert connectors.kind_names() == ("rest", "hub", "inline")
    created = await client.post("/v1/admin/connectors", headers=admin,
                                json=_body("inline", {"records": BOOKS}))
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert created.json()["kind"] == "inline"
    assert created.json()["config"]["kind"] == "inline"  # the union's tag, stored

    check = await client.post(f"/v1/admin/connectors/{cid}/check", headers=admin)
    assert check.status_code == 200 and check.json()["ok"], check.text
    preview = await client.post(f"/v1/admin/connectors/{cid}/preview", headers=admin)
    assert preview.status_code == 200, preview.text
    assert preview.json()["streams"][0]["would"]["created"] == 3

    # Asked for through the API, run by the worker (the runner calls the kind's run).
    asked = await client.post(f"/v1/admin/connectors/{cid}/run", headers=admin)
    assert asked.status_code == 202, asked.text
    await connectors.Worker(chub, deliveries=False).run_once()
    runs = (await client.get(f"/v1/admin/connectors/{cid}/runs", headers=admin)).json()
    first = runs["items"][0]
    assert first["status"] == "succeeded" and first["trigger"] == "manual", first
    assert (first["fetched"], first["created"], first["pages"]) == (3, 3, 1)
    # The service's run now: the same records again change nothing.
    again = await connectors.run_connector(chub, cid)
    assert again["status"] == "succeeded" and again["unchanged"] == 3, again

    # A bad definition of the new kind: a 400 located in its config, as for any kind.
    bad = assert_problem(await client.patch(f"/v1/admin/connectors/{cid}", headers=admin,
                                            json={"config": {"records": []}}), 400)
    assert "records" in bad["detail_vi"] and "records" in bad["detail_en"]
    other = assert_problem(await client.post(
        "/v1/admin/connectors", headers=admin,
        json=_body("inline", {"kind": "rest", "records": BOOKS})), 400)
    assert "kind" in other["detail_en"]

    # The console: the kind's words in the list and the select, its page, no secrets asked.
    await sign_in(client, await new_admin(chub))
    listing = await client.get("/console/connectors")
    assert listing.status_code == 200
    assert '<option value="inline"' in listing.text and "Bản ghi nhập sẵn" in listing.text
    page = await client.get(f"/console/connectors/{cid}")
    assert page.status_code == 200 and "Bản ghi nhập sẵn" in page.text
    assert 'name="client_secret"' not in page.text
    assert f'action="/console/connectors/{cid}/preview"' in page.text
    async with chub.db.transaction() as session:
        await connectors.delete_connector(session, cid)


async def test_an_unknown_kind_is_a_problem_naming_the_registered_ones(
    chub: Hub, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    refused = await client.post("/v1/admin/connectors", headers=admin,
                                json=_body("inline", {"records": BOOKS}))
    problem = assert_problem(refused, 400)
    assert problem["type"].endswith("invalid-input"), problem
    (error,) = problem["errors"]
    assert error["path"] == "body.kind" and error["code"] == "literal_error", error
    assert error["message_en"] == "Input should be 'rest' or 'hub'", error
    assert error["message_vi"], error
    # The services refuse it the same way (the CLI's and the console's path).
    with pytest.raises(InvalidInput) as raised:
        async with chub.db.transaction() as session:
            await connectors.create_connector(chub, session, agency="G16", name="x",
                                              kind="inline", config={"records": BOOKS})
    assert "unknown connector kind 'inline'" in raised.value.detail_en
    # The console lists the valid kinds with their words, in both languages.
    await sign_in(client, await new_admin(chub))
    page = await client.get("/console/connectors")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    posted = await client.post("/console/connectors", data={
        "csrf_token": token, "agency": "G16", "name": "x", "kind": "inline",
        "config": "{}", "config_tab": "json", "schedule_minutes": "60"})
    assert posted.status_code == 400
    assert "Loại connector &#39;inline&#39; không hợp lệ" in posted.text or (
        "Loại connector 'inline' không hợp lệ" in posted.text), posted.text[-2000:]
    assert "API REST của cơ quan" in posted.text


def test_a_kind_must_be_tagged_with_its_name_and_registered_once() -> None:
    class Untagged(connectors.ConnectorConfig):
        kind: Literal["other"] = "other"

    with pytest.raises(TypeError):
        connectors.register_kind(connectors.ConnectorKind(
            name="untagged", config=Untagged, run=_run, check=_check, label_vi="x",
            label_en="x"))
    with pytest.raises(ValueError, match="already registered"):
        connectors.register_kind(connectors.ConnectorKind(
            name="rest", config=connectors.RestConfig, run=_run, check=_check,
            label_vi="x", label_en="x"))
    assert connectors.connector_kind("rest").label("en") == "Agency REST API"


def test_the_union_is_discriminated_by_kind(inline: connectors.ConnectorKind) -> None:
    union = connectors.config_union()
    parsed = union.validate_python({"kind": "inline", "records": BOOKS})
    assert isinstance(parsed, InlineConfig)
    assert isinstance(union.validate_python({"kind": "hub", "base_url": "http://127.0.0.1"}),
                      connectors.HubFeedConfig)
    assert isinstance(connectors.parse_config("inline", {"records": BOOKS}), InlineConfig)
