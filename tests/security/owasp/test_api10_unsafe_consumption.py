"""API10:2023 Unsafe Consumption of APIs — the hub consumes one third-party API: the OIDC
identity provider of console single sign-on (Authlib's Starlette client).

A tiny local IdP (discovery document, token endpoint, JWKS) checks that: the SSO routes
exist only when configured; the login redirects to the IdP's authorize URL from discovery
with state and nonce; the callback verifies the ID token (signature, issuer, audience,
nonce) and maps the identity to an EXISTING active admin account only; IdP errors, a forged
state or an unknown identity get 401, never an account.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from auth._admins import create_admin, get_admin
from gateway import create_app
from hub import Hub
from tests.api._helpers import assert_problem
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio

CLIENT_ID = "rightshub-console"


class FakeIdP:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "idp-1"}, private=True)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.identity: dict[str, Any] = {}
        self.nonce: str | None = None
        self.token_requests: list[dict[str, list[str]]] = []
        self.issuer_claim: str | None = None

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def id_token(self) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer_claim or self.issuer, "aud": CLIENT_ID, "iat": now,
                  "exp": now + 300, "nonce": self.nonce, **self.identity}
        return jwt.encode({"alg": "RS256", "kid": "idp-1"}, claims, self.key)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._json(idp.discovery())
                elif self.path == "/jwks":
                    self._json({"keys": [idp.key.as_dict(private=False)]})
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                idp.token_requests.append(parse_qs(self.rfile.read(length).decode()))
                self._json({"access_token": "idp-access", "token_type": "Bearer",
                            "expires_in": 300, "id_token": idp.id_token()})

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> FakeIdP:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def idp() -> Iterator[FakeIdP]:
    with FakeIdP() as server:
        yield server


@pytest.fixture
async def sso_client(hub: Hub, idp: FakeIdP) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(hub.settings.database_url, oidc_issuer=idp.issuer,
                             oidc_client_id=CLIENT_ID, oidc_client_secret="idp-client-secret")
    app = create_app(settings, hub=hub)
    app.state.hub = hub
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


async def test_sso_routes_exist_only_when_configured(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/console/login/sso"), 404)
    assert_problem(await client.get("/console/login/sso/callback"), 404)


async def _start(sso_client: httpx.AsyncClient, idp: FakeIdP) -> dict[str, list[str]]:
    response = await sso_client.get("/console/login/sso")
    assert response.status_code == 302, response.text
    location = urlparse(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{idp.issuer}/authorize"
    query = parse_qs(location.query)
    idp.nonce = query["nonce"][0]
    return query


async def test_login_redirects_to_the_idp_authorize_url(
    sso_client: httpx.AsyncClient, idp: FakeIdP
) -> None:
    query = await _start(sso_client, idp)
    assert query["client_id"] == [CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert query["state"][0] and query["nonce"][0]
    assert "openid" in query["scope"][0].split()
    assert query["redirect_uri"][0].endswith("/console/login/sso/callback")


async def test_callback_maps_the_identity_to_an_existing_admin(
    hub: Hub, sso_client: httpx.AsyncClient, idp: FakeIdP
) -> None:
    subject = f"idp-{uuid.uuid4().hex[:8]}"
    username = f"sso-{uuid.uuid4().hex[:8]}"
    await create_admin(hub, username=username, role="agency_admin", agency="G16",
                       sso_subject=subject)
    query = await _start(sso_client, idp)
    idp.identity = {"sub": subject, "email": "someone@example.org"}
    response = await sso_client.get("/console/login/sso/callback",
                                    params={"code": "c0de", "state": query["state"][0]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["username"] == username and body["role"] == "agency_admin"
    assert "idp-client-secret" not in response.text
    clients = await sso_client.get("/v1/admin/clients", headers={
        "Authorization": f"Bearer {body['access_token']}"})
    assert clients.status_code == 200
    assert idp.token_requests and idp.token_requests[-1]["code"] == ["c0de"]
    info = await get_admin(hub, username)
    assert info is not None and info.last_login_at is not None


async def test_unknown_identity_gets_no_account(
    sso_client: httpx.AsyncClient, idp: FakeIdP
) -> None:
    query = await _start(sso_client, idp)
    idp.identity = {"sub": "stranger", "email": "stranger@example.org"}
    response = await sso_client.get("/console/login/sso/callback",
                                    params={"code": "c", "state": query["state"][0]})
    assert_problem(response, 401)


async def test_forged_state_idp_error_and_wrong_issuer_are_refused(
    hub: Hub, sso_client: httpx.AsyncClient, idp: FakeIdP
) -> None:
    subject = f"idp-{uuid.uuid4().hex[:8]}"
    await create_admin(hub, username=f"sso-{uuid.uuid4().hex[:8]}", role="hub_admin",
                       sso_subject=subject)
    idp.identity = {"sub": subject}
    await _start(sso_client, idp)
    assert_problem(await sso_client.get("/console/login/sso/callback",
                                        params={"code": "c", "state": "forged"}), 401)
    query = await _start(sso_client, idp)
    assert_problem(await sso_client.get("/console/login/sso/callback", params={
        "error": "access_denied", "state": query["state"][0]}), 401)
    query = await _start(sso_client, idp)
    idp.issuer_claim = "https://evil.example"
    response = await sso_client.get("/console/login/sso/callback",
                                    params={"code": "c", "state": query["state"][0]})
    assert response.status_code == 401, response.text
