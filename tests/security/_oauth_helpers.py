"""Helpers of the OAuth2, token and API key tests: clients made through ``auth``, tokens
fetched from the real token endpoint, and hand-made JWTs for forgery attempts."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import httpx
import orjson
from joserfc import jwt
from joserfc.jwk import ECKey

import auth
from hub import Hub


async def new_client(hub: Hub, agency: str = "G16", **kwargs: Any) -> auth.CreatedClient:
    return await auth.create_client(
        hub, agency=agency, name="test client", client_id=f"t-{uuid.uuid4().hex[:12]}",
        **kwargs,
    )


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def fetch_token(client: httpx.AsyncClient, created: auth.CreatedClient,
                      **form: str) -> str:
    assert created.client_secret
    response = await client.post(
        auth.TOKEN_PATH, data={"grant_type": "client_credentials", **form},
        headers=basic(created.client.client_id, created.client_secret),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    return str(body["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(hub: Hub, client_id: str, agency: str = "G16", **over: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": hub.settings.issuer_url, "aud": hub.settings.token_audience, "sub": client_id,
        "client_id": client_id, "agency": agency, "scope": "records:read",
        "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex,
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def unsigned_token(claims: dict[str, Any], kid: str) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": kid}
    return f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(claims))}."


def sign_with(key: Any, claims: dict[str, Any], header: dict[str, Any]) -> str:
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def foreign_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid}, private=True)
