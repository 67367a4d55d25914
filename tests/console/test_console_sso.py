"""Single sign-on into the console: a browser (Accept: text/html) finishing the OIDC flow
gets the console's own session cookie and lands on the dashboard; API callers still get the
admin token (tests/security/owasp/test_api10_unsafe_consumption.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from auth._admins import create_admin
from gateway import create_app
from hub import Hub
from tests.conftest import make_settings
from tests.security.owasp.test_api10_unsafe_consumption import CLIENT_ID, FakeIdP

pytestmark = pytest.mark.anyio


@pytest.fixture
def idp() -> Iterator[FakeIdP]:
    with FakeIdP() as server:
        yield server


async def test_sso_signs_a_browser_into_the_console(hub: Hub, idp: FakeIdP) -> None:
    settings = make_settings(hub.settings.database_url, oidc_issuer=idp.issuer,
                             oidc_client_id=CLIENT_ID, oidc_client_secret="idp-client-secret")
    app = create_app(settings, hub=hub)
    app.state.hub = hub
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    subject = f"idp-{uuid.uuid4().hex[:8]}"
    username = f"sso-{uuid.uuid4().hex[:8]}"
    await create_admin(hub, username=username, role="agency_admin", agency="G16",
                       sso_subject=subject, display_name="Trần Thị Bình")
    browser = {"Accept": "text/html,application/xhtml+xml"}
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test",
                                 headers=browser) as client:
        login = await client.get("/console/login")
        assert 'href="/console/login/sso"' in login.text  # offered when configured
        start = await client.get("/console/login/sso")
        query = parse_qs(urlparse(start.headers["location"]).query)
        idp.nonce = query["nonce"][0]
        idp.identity = {"sub": subject}
        done = await client.get("/console/login/sso/callback",
                                params={"code": "c0de", "state": query["state"][0]})
        assert done.status_code == 303 and done.headers["location"] == "/console/dashboard"
        assert "access_token" not in done.text
        page = await client.get("/console/dashboard")
        assert page.status_code == 200 and "Trần Thị Bình" in page.text
