"""Issue 16, finding 7: ``private_key_jwt`` client assertions (RFC 7523) are short-lived.

An assertion valid longer than ``client_assertion_max_lifetime_seconds`` (exp - iat, or
exp - now without iat) and one issued in the future beyond the clock skew are refused with
``invalid_client`` (RFC 6749 §5.2) and a description saying why; a normal one is accepted.
In process, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

import auth
from hub import Hub
from tests.security._oauth_helpers import bearer, new_client

pytestmark = pytest.mark.anyio

YEAR = 365 * 24 * 3600


@pytest.fixture
async def jwt_client(hub: Hub) -> tuple[str, ECKey]:
    key = ECKey.generate_key("P-256", parameters={"kid": "assertion-key"}, private=True)
    created = await new_client(hub, auth_method="private_key_jwt",
                               jwks={"keys": [key.as_dict(private=False)]})
    return created.client.client_id, key


async def _ask(client: httpx.AsyncClient, hub: Hub, jwt_client: tuple[str, ECKey],
               **times: Any) -> httpx.Response:
    client_id, key = jwt_client
    claims = {"iss": client_id, "sub": client_id, "jti": uuid.uuid4().hex,
              "aud": auth.token_endpoint_url(hub.settings), **times}
    assertion = jwt.encode({"alg": "ES256", "kid": "assertion-key"},
                           {k: v for k, v in claims.items() if v is not None}, key,
                           algorithms=["ES256"])
    return await client.post(auth.TOKEN_PATH, data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    })


def _refused(answer: httpx.Response, words: str) -> None:
    assert answer.status_code in (400, 401), answer.text
    body = answer.json()
    assert body["error"] == "invalid_client", body
    assert words in body["error_description"], body


async def test_a_normal_assertion_is_accepted(
    hub: Hub, client: httpx.AsyncClient, jwt_client: tuple[str, ECKey]
) -> None:
    now = int(time.time())
    for times in ({"iat": now, "exp": now + 120},
                  {"iat": now + 10, "exp": now + 300},  # a client clock a little ahead
                  {"exp": now + 290}):  # no iat: the rest of its life counts
        answer = await _ask(client, hub, jwt_client, **times)
        assert answer.status_code == 200, (times, answer.text)
        token = answer.json()["access_token"]
        assert (await client.get("/v1/products", headers=bearer(token))).status_code == 200


async def test_an_assertion_valid_for_a_year_is_refused(
    hub: Hub, client: httpx.AsyncClient, jwt_client: tuple[str, ECKey]
) -> None:
    now = int(time.time())
    limit = hub.settings.client_assertion_max_lifetime_seconds
    _refused(await _ask(client, hub, jwt_client, iat=now, exp=now + YEAR),
             f"at most {limit}")
    _refused(await _ask(client, hub, jwt_client, exp=now + YEAR), f"at most {limit}")
    _refused(await _ask(client, hub, jwt_client, iat=now - 60, exp=now + limit),
             f"at most {limit}")


async def test_an_assertion_issued_in_the_future_is_refused(
    hub: Hub, client: httpx.AsyncClient, jwt_client: tuple[str, ECKey]
) -> None:
    now = int(time.time())
    _refused(await _ask(client, hub, jwt_client, iat=now + 3600, exp=now + 3700),
             "in the future")
    _refused(await _ask(client, hub, jwt_client, iat="yesterday", exp=now + 60),
             "iat")
