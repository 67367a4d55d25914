"""Hygiene (issue 3, item 8): CORS closed by default, security headers, no trace in error
bodies, and no secret in any log line (real log output of a child process)."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway import create_app
from hub import Hub
from tests.conftest import auth, make_settings
from tests.integration import REPO, child_env

pytestmark = pytest.mark.anyio

PREFLIGHT = {
    "Origin": "https://evil.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def _client_for(hub: Hub, base_url: str = "http://hub.test", **settings: object
                      ) -> httpx.AsyncClient:
    app = create_app(make_settings(hub.settings.database_url, **settings), hub=hub)
    app.state.hub = hub
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options("/v1/products:batch", headers=PREFLIGHT)
    assert not any(h.startswith("access-control-") for h in preflight.headers)
    simple = await client.get(
        "/v1/products", headers={**auth("g16"), "Origin": "https://evil.example"}
    )
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


@pytest.fixture
async def cors_client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client_for(hub, cors_origins=["https://console.example"]) as c:
        yield c


async def test_cors_allows_exactly_the_configured_origins(
    cors_client: httpx.AsyncClient,
) -> None:
    unknown = await cors_client.options("/v1/products:batch", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in unknown.headers
    known = await cors_client.options(
        "/v1/products:batch", headers={**PREFLIGHT, "Origin": "https://console.example"}
    )
    assert known.status_code == 200
    assert known.headers["access-control-allow-origin"] == "https://console.example"
    simple = await cors_client.get(
        "/v1/products", headers={**auth("g16"), "Origin": "https://console.example"}
    )
    assert simple.headers["access-control-allow-origin"] == "https://console.example"


def _assert_base_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in response.headers


async def test_security_headers_on_api_errors_and_docs(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/v1/products", headers=auth("g16")),
        await client.get("/v1/products"),  # 401 problem
        await client.get("/no/such/route"),  # 404 problem
        await client.get("/healthz"),
    ):
        _assert_base_headers(response)
        assert "strict-transport-security" not in response.headers  # plain http
        assert "default-src 'none'" in response.headers["content-security-policy"]

    docs = await client.get("/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")
    _assert_base_headers(docs)
    csp = docs.headers["content-security-policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp
    # The docs page still works: its inline script is allowed by hash, its bundle by origin.
    inline = re.findall(r"<script>(.*?)</script>", docs.text, re.S)
    assert inline
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    # Nothing from another host (closed networks): every source is the hub itself.
    policy = docs.headers["content-security-policy"]
    assert "http" not in policy.replace("'self'", ""), policy
    assert script_src.split()[1] == "'self'"
    assert int(docs.headers["content-length"]) == len(docs.content)


async def test_hsts_only_over_https(hub: Hub) -> None:
    async with await _client_for(hub, base_url="https://hub.test") as secure:
        response = await secure.get("/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_unexpected_error_answers_500_without_trace(hub: Hub) -> None:
    app = create_app(make_settings(hub.settings.database_url), hub=hub)
    app.state.hub = hub

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail: password=hunter2 at /work/main/hub/_secret.py")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.get("/v1/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "urn:rightshub:problem:internal-error"
    assert body["request_id"] == "boom-1"
    for leak in ("Traceback", "RuntimeError", "internal detail", "hunter2", ".py", "File \""):
        assert leak not in response.text


JWT = (
    "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9."
    "eyJzdWIiOiJjbGllbnQtZzE2IiwiYWdlbmN5IjoiRzE2In0."
    "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
)
API_KEY = "rhk_k7Qx9b2_s3cr3tP4rtOfTheKeyZZ"
CLIENT_SECRET = "cs-VerySecretClientSecret-42"
PASSWORD = "Correct-Horse-Battery-9"

_LOGGING_SCRIPT = textwrap.dedent(f"""
    import logging, structlog
    from gateway._logging import configure_logging
    configure_logging("info", json=True)
    log = structlog.get_logger("rightshub.test")
    log.info("token issued", access_token="{JWT}", client_secret="{CLIENT_SECRET}",
             headers={{"Authorization": "Bearer {JWT}", "X-API-Key": "{API_KEY}"}},
             nested=[{{"password": "{PASSWORD}"}}], note="key {API_KEY} used")
    log.info("form", body="grant_type=client_credentials&client_secret={CLIENT_SECRET}")
    logging.getLogger("uvicorn.error").warning(
        "bad header Authorization: Bearer %s from client", "{JWT}")
    logging.getLogger("rightshub.stdlib").info("api key %s and password=%s", "{API_KEY}",
                                               "{PASSWORD}")
    try:
        raise ValueError("could not verify {JWT}")
    except ValueError:
        log.exception("failure", api_key="{API_KEY}")
""")


def test_logs_never_carry_secrets() -> None:
    run = subprocess.run(
        [sys.executable, "-c", _LOGGING_SCRIPT], cwd=REPO, env=child_env(),
        capture_output=True, text=True, encoding="utf-8", timeout=60, check=False,
    )
    assert run.returncode == 0, run.stderr
    output = run.stdout + run.stderr
    assert output.count("\n") >= 5, output
    for secret in (JWT, API_KEY, CLIENT_SECRET, PASSWORD, JWT.split(".")[1]):
        assert secret not in output, f"{secret[:12]}... leaked:\n{output}"
    assert "[REDACTED]" in output
    # What the lines were about is kept.
    assert "token issued" in output and "Traceback" in output and "client_credentials" in output
