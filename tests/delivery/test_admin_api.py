"""The admin API of subscriptions: tenancy (hub admin vs agency admin), problem details for
bad input, secrets shown once, dead letters and redelivery, audit entries."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from auth._admins import create_admin, get_admin, start_session
from hub import Hub
from hub.tables import AuditEntry
from tests.api._helpers import assert_problem, product
from tests.delivery.conftest import G16, Subscriber, drain

pytestmark = pytest.mark.anyio
BASE = "/v1/admin/subscriptions"


ADMINS = {"hub": ("dlv-hub-admin", "hub_admin", None),
          "g16": ("dlv-g16-admin", "agency_admin", "G16"),
          "g15": ("dlv-g15-admin", "agency_admin", "G15")}


@pytest.fixture
async def tokens(hub: Hub, client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    """Admin session tokens, issued as the login does (SSO-only accounts: no password
    hashing, which would cost seconds per test)."""
    found = {}
    for name, (username, role, agency) in ADMINS.items():
        admin = await get_admin(hub, username) or await create_admin(
            hub, username=username, role=role, agency=agency, sso_subject=f"sso-{username}")
        token = await start_session(hub, admin)
        found[name] = {"Authorization": f"Bearer {token.access_token}"}
    return found


async def test_tenancy_and_secrets(
    client: httpx.AsyncClient, tokens: dict[str, dict[str, str]], delivery_hub: Hub
) -> None:
    body = {"agency": "G16", "name": "Cổng G16", "endpoint_url": "http://127.0.0.1:9/hook",
            "record_types": ["products"], "themes": ["rights_children"]}
    created = await client.post(BASE, json=body, headers=tokens["g16"])
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["secret"].startswith("whs_") and created.headers["cache-control"] == "no-store"
    sub_id = out["id"]
    listed = (await client.get(BASE, headers=tokens["g16"])).json()["items"]
    assert [s["id"] for s in listed] == [sub_id] and "secret" not in listed[0]

    # Another agency's admin: not found (no existence oracle), its list is empty, no writes.
    assert_problem(await client.get(f"{BASE}/{sub_id}", headers=tokens["g15"]), 404)
    assert (await client.get(BASE, headers=tokens["g15"])).json()["items"] == []
    assert_problem(await client.post(BASE, json=body, headers=tokens["g15"]), 403)
    assert_problem(await client.post(f"{BASE}/{sub_id}/dead-letters/redeliver",
                                     headers=tokens["g15"]), 404)
    assert_problem(await client.delete(f"{BASE}/{sub_id}", headers=tokens["g15"]), 404)
    # The hub admin sees it.
    assert (await client.get(f"{BASE}/{sub_id}", headers=tokens["hub"])).status_code == 200

    patched = await client.patch(f"{BASE}/{sub_id}", headers=tokens["g16"],
                                 json={"active": False, "themes": None})
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert patched.json()["themes"] is None
    rotated = await client.post(f"{BASE}/{sub_id}/secret", headers=tokens["g16"])
    assert rotated.status_code == 200 and rotated.json()["secret"] != out["secret"]
    replayed = await client.post(f"{BASE}/{sub_id}/replay", headers=tokens["g16"],
                                 json={"after": 0})
    assert replayed.status_code == 200 and replayed.json()["position"] == 0
    assert (await client.delete(f"{BASE}/{sub_id}", headers=tokens["g16"])).status_code == 204
    assert_problem(await client.get(f"{BASE}/{sub_id}", headers=tokens["g16"]), 404)

    async with delivery_hub.db.session() as session:
        actions = set(await session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.target == f"subscription/{sub_id}")))
    assert {"admin.subscriptions.create", "admin.subscriptions.update",
            "admin.subscriptions.rotate_secret", "admin.subscriptions.replay",
            "admin.subscriptions.delete"} <= actions


BAD_BODIES: list[dict[str, object]] = [
    {"endpoint_url": "ftp://127.0.0.1/x"},
    {"endpoint_url": "http://169.254.169.254/latest/meta-data/"},
    {"endpoint_url": "http://user:pw@127.0.0.1/x"},
    {"endpoint_url": "not a url"},
    {"themes": ["no_such_theme"]},
    {"record_types": ["nope"]},
    {"owner_agencies": ["NOPE"]},
    {"agency": "NOPE"},
    {"secret": "too short"},
    {"auth_kind": "oauth2"},  # without token_url, client id and secret
    {"auth_kind": "oauth2", "token_url": "http://[fe80::1]/token", "oauth_client_id": "x",
     "secret": "s" * 40},
    {"unknown_field": 1},
    {"name": "a\x00b"},
]


async def test_bad_input_is_a_problem(
    client: httpx.AsyncClient, tokens: dict[str, dict[str, str]]
) -> None:
    for change in BAD_BODIES:
        body = {"agency": "G16", "name": "x", "endpoint_url": "http://127.0.0.1:9/hook",
                **change}
        # Where it points is the outbound guard's business: 422 (destination refused).
        status = 422 if any(a in str(change) for a in ("169.254", "fe80")) else 400
        assert_problem(await client.post(BASE, json=body, headers=tokens["hub"]), status)
    sub_id = (await client.post(BASE, headers=tokens["hub"], json={
        "agency": "G16", "name": "x", "endpoint_url": "http://127.0.0.1:9/hook"})).json()["id"]
    for change in ({"endpoint_url": "http://169.254.169.254/"}, {"themes": ["nope"]},
                   {"secret": "short"}, {"agency": "G15"}, {"oauth_client_id": ""}):
        response = await client.patch(f"{BASE}/{sub_id}", json=change, headers=tokens["hub"])
        assert_problem(response, 422 if any(a in str(change) for a in ("169.254", "fe80")) else 400)


async def test_bad_paths_and_queries(
    client: httpx.AsyncClient, tokens: dict[str, dict[str, str]]
) -> None:
    for url in (f"{BASE}/not-an-id", f"{BASE}/{'0' * 36}/deliveries?cursor=abc",
                f"{BASE}/{'0' * 36}/dead-letters?status=zombie"):
        response = await client.get(url, headers=tokens["hub"])
        assert response.status_code in (400, 404, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    huge = f"{BASE}/{'0' * 36}/deliveries?cursor=9999999999999999999"
    assert_problem(await client.get(huge, headers=tokens["hub"]), 404)


async def test_dead_letters_listed_and_redelivered_through_the_api(
    client: httpx.AsyncClient, tokens: dict[str, dict[str, str]], delivery_hub: Hub,
    subscriber: Subscriber,
) -> None:
    subscriber.mode = "fail"
    created = (await client.post(BASE, headers=tokens["g16"], json={
        "agency": "G16", "name": "G16 hook", "endpoint_url": subscriber.url})).json()
    subscriber.secret = created["secret"]
    sub_id = created["id"]
    await delivery_hub.ingest.ingest(G16, "products", [product("A1"), product("A2")])

    async def dead() -> list[dict[str, object]]:
        page = await client.get(f"{BASE}/{sub_id}/dead-letters", headers=tokens["g16"])
        assert page.status_code == 200, page.text
        items: list[dict[str, object]] = page.json()["items"]
        return items

    for _ in range(300):
        await drain(delivery_hub, rounds=1)
        if len(await dead()) == 2:
            break
    assert [d["status"] for d in await dead()] == ["dead", "dead"]
    deliveries = (await client.get(f"{BASE}/{sub_id}/deliveries?outcome=dead_lettered",
                                   headers=tokens["g16"])).json()["items"]
    assert len(deliveries) == 1 and deliveries[0]["events"] == 2

    subscriber.mode = "ok"
    first = (await dead())[0]["seq"]
    answer = await client.post(f"{BASE}/{sub_id}/dead-letters/redeliver",
                               headers=tokens["g16"], json={"seqs": [first]})
    assert answer.status_code == 200 and answer.json() == {"requested": 1}
    await drain(delivery_hub, until=lambda: len(subscriber.events()) == 1)
    assert [e["seq"] for e in subscriber.events()] == [first]
    assert [d["status"] for d in await dead()] == ["redelivered", "dead"]
    answer = await client.post(f"{BASE}/{sub_id}/dead-letters/redeliver", headers=tokens["g16"])
    assert answer.json() == {"requested": 1}
    await drain(delivery_hub, until=lambda: len(subscriber.events()) == 2)
    assert [d["status"] for d in await dead()] == ["redelivered", "redelivered"]
