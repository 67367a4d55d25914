"""API2:2023 Broken Authentication.

Every protected route (enumerated from the app) answers 401 with ``WWW-Authenticate`` to a
missing, unknown, malformed or forged credential; admin logins fail alike for unknown users
and wrong passwords and are slowed down after repeated failures (429 with Retry-After).
"""

from __future__ import annotations

import time

import httpx
import pytest

from auth._authority import authority
from auth._tokens import sign_access_token
from hub import Hub
from tests.api._helpers import assert_problem
from tests.security._oauth_helpers import claims_for, foreign_key, sign_with, unsigned_token
from tests.security.owasp.conftest import ADMIN_PASSWORD, AdminTokens, ensure_admins, protected

pytestmark = pytest.mark.anyio


async def _bad_credentials(hub: Hub) -> dict[str, dict[str, str]]:
    auth = authority(hub)
    await auth.keys.refresh()
    kid, alg, key = auth.keys.signing_key()
    admin_claims = claims_for(hub, "sec-hub-admin", agency="", scope="admin admin:hub",
                              kind="admin", role="hub_admin")
    expired = sign_access_token(auth, subject="sec-hub-admin", agency="",
                                scopes=["admin", "admin:hub"], kind="admin", role="hub_admin",
                                lifetime=-3600)
    return {
        "none": {},
        "empty bearer": {"Authorization": "Bearer "},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
        "unknown token": {"Authorization": "Bearer not-a-known-token-0123456789"},
        "unknown api key": {"X-API-Key": "rhk_0123456789abcdef_" + "a" * 43},
        "api key as bearer": {"Authorization": "Bearer rhk_0123456789abcdef_" + "b" * 43},
        "alg none": {"Authorization": "Bearer " + unsigned_token(admin_claims, kid)},
        "foreign key": {"Authorization": "Bearer " + sign_with(
            foreign_key(kid), admin_claims, {"alg": "ES256", "typ": "at+jwt", "kid": kid})},
        "typ missing": {"Authorization": "Bearer " + sign_with(
            key, admin_claims, {"alg": alg, "kid": kid})},
        "wrong issuer": {"Authorization": "Bearer " + sign_with(
            key, {**admin_claims, "iss": "https://evil.example"},
            {"alg": alg, "typ": "at+jwt", "kid": kid})},
        "wrong audience": {"Authorization": "Bearer " + sign_with(
            key, {**admin_claims, "aud": "urn:other"},
            {"alg": alg, "typ": "at+jwt", "kid": kid})},
        "expired": {"Authorization": "Bearer " + expired.access_token},
        "unknown admin": {"Authorization": "Bearer " + sign_access_token(
            auth, subject="ghost-admin", agency="", scopes=["admin", "admin:hub"],
            kind="admin", role="hub_admin").access_token},
    }


async def test_every_protected_route_answers_401_to_bad_credentials(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    routes = protected(app)
    assert any(e.path.startswith("/v1/admin") for e in routes)
    credentials = await _bad_credentials(hub)
    for endpoint in routes:
        url = endpoint.url(source_id="S-1", code="G16", client_id="c", username="u",
                           key_id="k", name="themes")
        for label, headers in credentials.items():
            response = await client.request(endpoint.method, url, headers=headers, json={})
            assert response.status_code == 401, (str(endpoint), label, response.status_code)
            assert response.headers.get("www-authenticate", "").startswith("Bearer"), label


async def test_login_failures_are_uniform_and_slowed_down(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    """Known and unknown usernames fail alike: the free failures answer 401, then this
    username from this address waits (429 with Retry-After), even with the right password;
    other accounts from the same address are not affected (tests/security/
    test_login_throttle.py covers addresses, the growth of the delay and the account lock)."""
    await ensure_admins(hub)
    free = hub.settings.admin_login_free_failures
    for username in ("sec-g15-admin", "no-such-admin"):
        for _ in range(free + 1):
            wrong = await client.post("/v1/admin/session",
                                      json={"username": username, "password": "guess-guess"})
            assert_problem(wrong, 401)
        waiting = await client.post("/v1/admin/session",
                                    json={"username": username, "password": ADMIN_PASSWORD})
        assert_problem(waiting, 429)
        assert int(waiting.headers["retry-after"]) > 0
    ok = await client.post("/v1/admin/session",
                           json={"username": "sec-g16-admin", "password": ADMIN_PASSWORD})
    assert ok.status_code == 200


async def test_unknown_user_costs_a_password_hash_too(hub: Hub, client: httpx.AsyncClient) -> None:
    """Constant-time failure: an unknown username is verified against a dummy argon2 hash,
    so it takes about as long as a wrong password (no user enumeration by timing)."""
    await ensure_admins(hub)

    async def timed(username: str) -> float:
        start = time.perf_counter()
        await client.post("/v1/admin/session",
                          json={"username": username, "password": "wrong password"})
        return time.perf_counter() - start

    known = min([await timed("sec-hub-admin") for _ in range(2)])
    unknown = min([await timed("nobody-at-all") for _ in range(2)])
    assert unknown > known * 0.4, (known, unknown)


async def test_admin_session_body_is_strict(client: httpx.AsyncClient,
                                            admins: AdminTokens) -> None:
    extra = await client.post("/v1/admin/session", json={
        "username": "sec-hub-admin", "password": ADMIN_PASSWORD, "role": "hub_admin"})
    assert_problem(extra, 400)
    assert ADMIN_PASSWORD not in extra.text
