"""Issue 16, findings 1-4 and 9: the one outbound guard (connectors/_outbound.py).

Every server here listens on loopback (127.0.0.1, or 127.0.0.2 beside it); the addresses
the guard must refuse are given as configuration and refused before any connection. The
hub's settings start from an EMPTY allow-list unless a test names one, as in production.
"""

from __future__ import annotations

import ast
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import connectors
from auth._admins import create_admin, start_session
from connectors._outbound import (
    OutboundPolicy,
    OutboundRefused,
    ResponseTooLarge,
    guarded_client,
    sanitized_excerpt,
)
from gateway import create_app
from hub import Hub
from hub.tables import AuditEntry
from tests.api._helpers import assert_problem
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "khoa-bi-mat-cua-co-quan-0123456789"


class Recorder:
    """A loopback HTTP server that answers ``routes[path]`` (status, headers, body) and
    records each request's path and headers."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.host = host
        self.port = int(self.server.server_address[1])
        self.base = f"http://{host}:{self.port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                if length:
                    self.rfile.read(length)
                recorder.requests.append((self.path, dict(self.headers.items())))
                status, headers, body = recorder.routes.get(
                    self.path.split("?")[0], (404, {}, b"{}"))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> Recorder:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def agency() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[Recorder]:
    with Recorder() as server:
        yield server


@pytest.fixture
async def hub_with(hub: Hub) -> AsyncIterator[Callable[..., Any]]:
    """A hub (and its app) on the suite's database with other outbound settings."""
    made: list[Hub] = []

    async def make(**overrides: Any) -> tuple[Hub, httpx.AsyncClient, dict[str, str]]:
        settings = make_settings(hub.settings.database_url, **overrides)
        other = Hub(settings)
        made.append(other)
        app = create_app(settings, hub=other)
        app.state.hub = other
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://hub.test")
        admin = await create_admin(other, username=f"gd-{len(made)}-{id(other) % 10**6}",
                                   role="hub_admin", sso_subject=f"gd-{id(other)}")
        issued = await start_session(other, admin)
        return other, client, {"Authorization": f"Bearer {issued.access_token}"}

    yield make
    for other in made:
        await other.close()


def _page(items: list[dict[str, Any]], **headers: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json", **headers}, json.dumps(items).encode()


def _rest(base_url: str, **stream: Any) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "auth": {"type": "api_key", "header": "X-API-Key"},
        "retry": {"attempts": 1, "initial_seconds": 0.01, "deadline_seconds": 2},
        "streams": [{
            "name": "an-pham", "record_type": "products", "path": "/api/an-pham",
            "pagination": {"style": "none"},
            "mapping": {"source_id": "ma", "fields": {"title": {"from": "ten"},
                                                      "kind": {"value": "book"}}},
            **stream,
        }],
    }


def _body(config: dict[str, Any]) -> dict[str, Any]:
    return {"agency": "G16", "name": "Nguồn thử", "kind": "rest", "config": config,
            "secrets": {"api_key": API_KEY}}


# --- finding 2: every spelling of a refused address -------------------------------------------

REFUSED_SPELLINGS = [
    "http://[::ffff:169.254.169.254]/", "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::a9fe:a9fe]/", "http://[::ffff:127.0.0.1]:8080/",
    "http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://0177.0.0.1/",
    "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/", "http://100.64.0.1/",
    "http://169.254.169.254/", "http://[fe80::1]/", "http://[fc00::1]/", "http://[::1]/",
    "http://0.0.0.0/", "http://224.0.0.1/", "http://[ff02::1]/", "http://240.0.0.1/",
    "http://[2002:a9fe:a9fe::1]/", "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://localhost/",
]


@pytest.mark.parametrize("url", REFUSED_SPELLINGS)
async def test_every_spelling_of_an_internal_address_is_refused(url: str) -> None:
    with pytest.raises(OutboundRefused):
        await OutboundPolicy([]).check_url(url)


async def test_refused_as_connector_and_as_subscription_endpoint(
    hub_with: Callable[..., Any],
) -> None:
    _, client, admin = await hub_with(outbound_allow=[])
    async with client:
        for url in ("http://[::ffff:169.254.169.254]", "http://2130706433",
                    "http://0x7f.1", "http://127.1", "http://[64:ff9b::a9fe:a9fe]"):
            refused = assert_problem(await client.post(
                "/v1/admin/connectors", headers=admin, json=_body(_rest(url))), 422)
            assert "RIGHTSHUB_OUTBOUND_ALLOW" in refused["detail_en"], refused
            sub = await client.post("/v1/admin/subscriptions", headers=admin, json={
                "agency": "G16", "name": "nhận tin", "endpoint_url": url + "/hook"})
            assert_problem(sub, 422)


async def test_a_mapped_ipv6_address_does_not_reach_an_ipv4_listener(agency: Recorder) -> None:
    agency.routes["/"] = _page([])
    url = f"http://[::ffff:127.0.0.1]:{agency.port}/"
    async with guarded_client(OutboundPolicy([]), max_bytes=1024) as http:
        with pytest.raises(OutboundRefused):
            await http.get(url)
    assert agency.requests == []
    # Allowed explicitly, the same spelling connects to the address that was checked.
    async with guarded_client(OutboundPolicy(["127.0.0.1/32"]), max_bytes=1024) as http:
        assert (await http.get(url)).status_code == 200
    assert len(agency.requests) == 1


async def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    """DNS rebinding: the resolver answers an allowed address first and another after; the
    guard resolves once per connection and connects to what it checked. Of two answers the
    refused one is skipped, never connected to."""
    with Recorder("127.0.0.2") as allowed, Recorder("127.0.0.1", allowed.port) as refused:
        allowed.routes["/"] = refused.routes["/"] = _page([])
        calls: list[str] = []

        async def rebinding(host: str, port: int) -> list[str]:
            calls.append(host)
            return ["127.0.0.2"] if len(calls) == 1 else ["127.0.0.1"]

        policy = OutboundPolicy([f"127.0.0.2:{allowed.port}"], resolver=rebinding)
        async with guarded_client(policy, max_bytes=1024) as http:
            assert (await http.get(f"http://nguon.test:{allowed.port}/")).status_code == 200
        assert calls == ["nguon.test"] and len(allowed.requests) == 1 and not refused.requests

        async def both(host: str, port: int) -> list[str]:
            return ["127.0.0.1", "127.0.0.2"]

        policy = OutboundPolicy([f"127.0.0.2:{allowed.port}"], resolver=both)
        async with guarded_client(policy, max_bytes=1024) as http:
            assert (await http.get(f"http://nguon.test:{allowed.port}/")).status_code == 200
        assert len(allowed.requests) == 2 and not refused.requests


async def test_allow_entries_are_exact(agency: Recorder) -> None:
    agency.routes["/"] = _page([])
    other_port = OutboundPolicy([f"127.0.0.1:{agency.port + 1}"])
    async with guarded_client(other_port, max_bytes=1024) as http:
        with pytest.raises(OutboundRefused):
            await http.get(agency.base + "/")
    with pytest.raises(ValueError):
        make_settings("sqlite://", outbound_allow="not an address")
    assert make_settings("sqlite://", outbound_allow="10.0.0.0/8, 127.0.0.1:8100").outbound_allow \
        == ["10.0.0.0/8", "127.0.0.1:8100"]


# --- findings 1 and 4: credentials stay on their origin; agency admins get no loopback -------


async def test_a_path_or_token_url_to_another_origin_is_refused(
    hub_with: Callable[..., Any], agency: Recorder, elsewhere: Recorder,
) -> None:
    _, client, admin = await hub_with()  # loopback allowed: only the origin rule refuses
    async with client:
        for path in (f"{elsewhere.base}/steal", f"//127.0.0.1:{elsewhere.port}/steal",
                     "\\\\127.0.0.1\\steal"):
            refused = assert_problem(await client.post(
                "/v1/admin/connectors", headers=admin,
                json=_body(_rest(agency.base, path=path))), 422)
            assert "streams.0" in refused["detail_en"], refused
        created = await client.post("/v1/admin/connectors", headers=admin,
                                    json=_body(_rest(agency.base)))
        assert created.status_code == 201, created.text
    assert elsewhere.requests == []


async def test_a_next_link_to_another_origin_stops_the_run_without_the_key(
    hub_with: Callable[..., Any], agency: Recorder, elsewhere: Recorder,
) -> None:
    hub, client, admin = await hub_with()
    agency.routes["/api/an-pham"] = _page(
        [{"ma": "S1", "ten": "Sách một"}],
        Link=f'<{elsewhere.base}/steal>; rel="next"')
    elsewhere.routes["/steal"] = _page([])
    config = _rest(agency.base, pagination={"style": "link"})
    async with client:
        cid = (await client.post("/v1/admin/connectors", headers=admin,
                                 json=_body(config))).json()["id"]
    run = await connectors.run_connector(hub, cid)
    assert run["status"] == "failed"
    assert "another server" in run["errors"][-1]["message_en"]
    assert elsewhere.requests == []
    assert agency.requests and agency.requests[0][1].get("X-API-Key") == API_KEY


async def test_credentials_are_added_only_for_their_origin(
    agency: Recorder, elsewhere: Recorder,
) -> None:
    agency.routes["/"] = elsewhere.routes["/"] = _page([])
    outbound = connectors._http.Outbound(OutboundPolicy(["127.0.0.0/8"]), 4096, 4096)
    auth = connectors._http.ApiKeyAuth("X-API-Key", API_KEY)
    options = connectors.HttpOptions()
    async with connectors._http.make_client(agency.base, options, auth, outbound) as http:
        await http.get("/")
        await http.get(elsewhere.base + "/")  # an absolute URL, as a bug might make
    assert agency.requests[0][1].get("X-API-Key") == API_KEY
    assert "X-API-Key" not in elsewhere.requests[0][1]


async def test_loopback_and_private_networks_need_the_hub_configuration(
    hub_with: Callable[..., Any], agency: Recorder,
) -> None:
    """The embedded default and every other environment: no allow-list, no loopback; an
    agency admin has no way to change that (the allow-list is not an API field)."""
    for environment in ("embedded", "development", "test"):
        _, client, admin = await hub_with(outbound_allow=[], environment=environment)
        async with client:
            refused = assert_problem(await client.post(
                "/v1/admin/connectors", headers=admin, json=_body(_rest(agency.base))), 422)
            assert "loopback" in refused["detail_en"]
            for config in ({**_rest(agency.base), "outbound_allow": ["127.0.0.0/8"]},):
                assert_problem(await client.post(
                    "/v1/admin/connectors", headers=admin, json=_body(config)), 400)
    assert agency.requests == []


async def test_the_preview_shows_a_short_sanitised_excerpt_only(
    hub_with: Callable[..., Any], agency: Recorder,
) -> None:
    secret_body = json.dumps({
        "error": "unauthorized\x1b[31m", "token": "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LXBheWxvYWQ",
        "padding": "x " * 2000,
    }).encode()
    agency.routes["/api/an-pham"] = (401, {"Content-Type": "application/json"}, secret_body)
    _, client, admin = await hub_with()
    async with client:
        cid = (await client.post("/v1/admin/connectors", headers=admin,
                                 json=_body(_rest(agency.base)))).json()["id"]
        preview = assert_problem(await client.post(
            f"/v1/admin/connectors/{cid}/preview", headers=admin), 502)
    detail = preview["detail_en"]
    assert "401" in detail and "eyJhbGci" not in detail and "\x1b" not in detail
    assert len(detail) < 300, detail
    response = httpx.Response(200, headers={"Content-Type": "image/png"}, content=b"\x89PNG")
    assert sanitized_excerpt(response) == ""


# --- finding 3: a new origin demands the secrets again ---------------------------------------


async def test_moving_a_connector_demands_its_secrets_again(
    hub_with: Callable[..., Any], agency: Recorder, elsewhere: Recorder,
) -> None:
    hub, client, admin = await hub_with()
    async with client:
        cid = (await client.post("/v1/admin/connectors", headers=admin,
                                 json=_body(_rest(agency.base)))).json()["id"]
        moved = _rest(elsewhere.base)
        refused = assert_problem(await client.patch(
            f"/v1/admin/connectors/{cid}", headers=admin, json={"config": moved}), 409)
        assert "api_key" in refused["detail_en"]
        # The same origin (another path of base_url) keeps them.
        same = _rest(agency.base + "/v2")
        assert (await client.patch(f"/v1/admin/connectors/{cid}", headers=admin,
                                   json={"config": same})).status_code == 200
        ok = await client.patch(f"/v1/admin/connectors/{cid}", headers=admin, json={
            "config": moved, "secrets": {"api_key": "khoa-moi-cho-may-chu-moi-987654"}})
        assert ok.status_code == 200, ok.text
        oauth = {**_rest(elsewhere.base), "auth": {
            "type": "oauth2", "client_id": "hub", "token_path": "/oauth/token"}}
        # api_key -> oauth2 on the same origin: no origin change, secrets merge as before.
        assert (await client.patch(f"/v1/admin/connectors/{cid}", headers=admin, json={
            "config": oauth, "secrets": {"client_secret": "s" * 20}})).status_code == 200
        idp = {**oauth, "auth": {**oauth["auth"], "token_path": agency.base + "/token"}}
        assert_problem(await client.patch(f"/v1/admin/connectors/{cid}", headers=admin,
                                          json={"config": idp}), 409)
    entries = await _audit(hub, f"connector/{cid}")
    changed = [e for e in entries if "origins_changed" in e.details]
    assert [e.outcome for e in changed] == ["failed", "ok", "failed"], changed
    assert changed[1].details["origins_changed"]["to"] == [
        f"http://127.0.0.1:{elsewhere.port}"]


async def test_moving_a_subscription_demands_its_secret_again(
    hub_with: Callable[..., Any], agency: Recorder, elsewhere: Recorder,
) -> None:
    hub, client, admin = await hub_with()
    async with client:
        created = await client.post("/v1/admin/subscriptions", headers=admin, json={
            "agency": "G16", "name": "nhận tin", "endpoint_url": agency.base + "/hook"})
        assert created.status_code == 201, created.text
        sid = created.json()["subscription"]["id"] if "subscription" in created.json() \
            else created.json()["id"]
        url = f"/v1/admin/subscriptions/{sid}"
        assert_problem(await client.patch(url, headers=admin, json={
            "endpoint_url": elsewhere.base + "/hook"}), 409)
        assert (await client.patch(url, headers=admin, json={
            "endpoint_url": agency.base + "/other-hook"})).status_code == 200
        ok = await client.patch(url, headers=admin, json={
            "endpoint_url": elsewhere.base + "/hook", "secret": "whs_" + "n" * 40})
        assert ok.status_code == 200, ok.text
    entries = await _audit(hub, f"subscription/{sid}")
    assert [e.outcome for e in entries if "origins_changed" in e.details] == ["failed", "ok"]


async def _audit(hub: Hub, target: str) -> list[AuditEntry]:
    async with hub.db.session() as session:
        return list(await session.scalars(
            sa.select(AuditEntry).where(AuditEntry.target == target).order_by(AuditEntry.seq)))


# --- finding 9: capped answers ---------------------------------------------------------------


async def test_a_page_larger_than_the_cap_fails_the_run_clearly(
    hub_with: Callable[..., Any], agency: Recorder,
) -> None:
    hub, client, admin = await hub_with(outbound_max_page_bytes=4096)
    big = [{"ma": f"S{i}", "ten": "Sách " + "x" * 100} for i in range(100)]
    agency.routes["/api/an-pham"] = _page(big)
    async with client:
        cid = (await client.post("/v1/admin/connectors", headers=admin,
                                 json=_body(_rest(agency.base)))).json()["id"]
    run = await connectors.run_connector(hub, cid)
    assert run["status"] == "failed" and run["created"] == 0
    assert "4096-byte limit" in run["errors"][-1]["message_en"]
    assert len(agency.requests) == 1  # not retried: it would be as large again


async def test_capped_streams_stop_reading(agency: Recorder) -> None:
    agency.routes["/big"] = (200, {"Content-Type": "application/json"}, b"[" + b" " * 9000 + b"]")
    async with guarded_client(OutboundPolicy(["127.0.0.1/32"]), max_bytes=2048) as http:
        with pytest.raises(ResponseTooLarge):
            await http.get(agency.base + "/big")
        async with http.stream("GET", agency.base + "/big") as response:
            with pytest.raises(ResponseTooLarge):
                await response.aread()


async def test_a_subscriber_answer_larger_than_the_cap_is_a_failed_delivery(
    hub_with: Callable[..., Any], agency: Recorder,
) -> None:
    hub, client, admin = await hub_with(outbound_max_delivery_answer_bytes=1024)
    agency.routes["/hook"] = (200, {"Content-Type": "text/plain"}, b"y" * 50_000)
    async with client:
        created = await client.post("/v1/admin/subscriptions", headers=admin, json={
            "agency": "G16", "name": "nhận tin", "endpoint_url": agency.base + "/hook",
            "deliver_from": "now"})
        assert created.status_code == 201, created.text
    principal = hub_principal()
    await hub.ingest.ingest(principal, "products", [
        {"source_id": "S-cap", "title": "Sách", "kind": "book"}])
    await connectors.deliver_pending(hub)
    async with hub.db.session() as session:
        from hub.tables import DeliveryAttempt

        attempts = list(await session.scalars(sa.select(DeliveryAttempt)))
    mine = [a for a in attempts if a.error and "1024-byte limit" in a.error]
    assert mine, [(a.status_code, a.error) for a in attempts]


def hub_principal() -> Any:
    from hub import Principal

    return Principal("guard-test", "G16", frozenset({"records:write"}))


# --- OIDC discovery goes through the guard too -----------------------------------------------


async def test_oidc_discovery_goes_through_the_guard(hub: Hub) -> None:
    from tests.security.owasp.test_api10_unsafe_consumption import CLIENT_ID, FakeIdP

    with FakeIdP() as idp:
        for allow, status in (([], 503), ([f"127.0.0.1:{idp.server.server_address[1]}"], 302)):
            settings = make_settings(hub.settings.database_url, oidc_issuer=idp.issuer,
                                     oidc_client_id=CLIENT_ID, oidc_client_secret="s" * 20,
                                     outbound_allow=allow)
            app = create_app(settings, hub=hub)
            app.state.hub = hub
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
                response = await c.get("/console/login/sso")
            assert response.status_code == status, response.text


# --- one guard: no other client is made anywhere ---------------------------------------------

# Not calls of the hub to another system: the install-time fetch of the console's pinned
# assets (make install), and `serve --demo` waiting for the simulator child it started.
NOT_HUB_CALLS = {"gateway/_assets_fetch.py": "urlopen",
                 "gateway/cli/_connectors.py": "get"}
CLIENT_CALLS = {"AsyncClient", "Client", "AsyncOAuth2Client", "OAuth2Client", "urlopen",
                "AsyncHTTPTransport", "HTTPTransport"}
HTTPX_SHORTCUTS = {"get", "post", "put", "patch", "delete", "head", "options", "request",
                   "stream"}


def test_no_outbound_client_is_made_outside_the_guard() -> None:
    """Every ``httpx``/Authlib client of the hub's packages is made by the guard or given
    its transport; ``urllib`` is not used to call out."""
    offenders = []
    for package in ("schemas", "hub", "auth", "connectors", "gateway"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative == "connectors/_outbound.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            # Names this module imported from an HTTP library (``from httpx import ...``).
            imported = {alias.asname or alias.name for node in ast.walk(tree)
                        if isinstance(node, ast.ImportFrom) and node.module
                        and node.module.split(".")[0] in ("httpx", "authlib", "urllib")
                        for alias in node.names}
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                    owner, name = func.value.id, func.attr
                    library = owner in ("httpx", "urllib") or owner in imported
                elif isinstance(func, ast.Name):
                    name, library = func.id, func.id in imported
                else:
                    continue
                if not library:
                    continue
                shortcut = name in HTTPX_SHORTCUTS
                unguarded = name in CLIENT_CALLS and not any(k.arg == "transport"
                                                             for k in node.keywords)
                if (unguarded or shortcut) and NOT_HUB_CALLS.get(relative) != name:
                    offenders.append(f"{relative}:{node.lineno} {name}")
    assert offenders == [], offenders
