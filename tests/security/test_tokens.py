"""Access tokens (RFC 9068) from the token endpoint, on SQLite and PostgreSQL: accepted when
genuine, 401 when forged (``alg: none``, wrong key, wrong issuer or audience, expired, ``typ``
missing), when the client is deactivated; signing-key rotation keeps tokens in flight valid;
metadata (RFC 8414) and JWKS."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import KeySet

import auth
from hub import Hub
from hub.tables import SigningKey
from tests.security._oauth_helpers import (
    basic,
    bearer,
    claims_for,
    fetch_token,
    foreign_key,
    new_client,
    sign_with,
    unsigned_token,
)

pytestmark = pytest.mark.anyio


async def test_token_from_endpoint_is_an_rfc9068_jwt_and_opens_the_api(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    created = await new_client(hub, scopes=["records:read"])
    token = await fetch_token(client, created)
    keys = KeySet.import_key_set((await client.get(auth.JWKS_PATH)).json())
    decoded = jwt.decode(token, keys, algorithms=list(auth.ALLOWED_ALGORITHMS))
    assert decoded.header["typ"] == "at+jwt" and decoded.header["kid"]
    claims = decoded.claims
    assert claims["iss"] == hub.settings.issuer_url
    assert claims["aud"] == hub.settings.token_audience
    assert claims["sub"] == claims["client_id"] == created.client.client_id
    assert claims["agency"] == "G16" and claims["scope"] == "records:read"
    assert claims["exp"] - claims["iat"] == hub.settings.access_token_ttl_seconds
    assert claims["jti"]

    listed = await client.get("/v1/products", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    # The token carries records:read only: writing is forbidden, not unauthenticated.
    write = await client.put("/v1/products/X-1", headers=bearer(token),
                             json={"kind": "book", "title": "Sách", "languages": ["vie"]})
    assert write.status_code == 403


async def test_token_endpoint_errors_follow_rfc6749(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    created = await new_client(hub, scopes=["records:read"])
    assert created.client_secret
    cid = created.client.client_id
    wrong = await client.post(auth.TOKEN_PATH, data={"grant_type": "client_credentials"},
                              headers=basic(cid, "not-the-secret"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["cache-control"] == "no-store"
    unknown = await client.post(auth.TOKEN_PATH, data={"grant_type": "client_credentials"},
                                headers=basic("nobody-here", "x"))
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    grant = await client.post(auth.TOKEN_PATH, data={"grant_type": "password"},
                              headers=basic(cid, created.client_secret))
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    scope = await client.post(
        auth.TOKEN_PATH, data={"grant_type": "client_credentials", "scope": "records:write"},
        headers=basic(cid, created.client_secret))
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    as_json = await client.post(auth.TOKEN_PATH, json={"grant_type": "client_credentials"},
                                headers=basic(cid, created.client_secret))
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    # A basic-auth client cannot switch to client_secret_post.
    post = await client.post(auth.TOKEN_PATH, data={
        "grant_type": "client_credentials", "client_id": cid,
        "client_secret": created.client_secret})
    assert post.status_code in (400, 401) and post.json()["error"] == "invalid_client"
    # Distinct descriptions: wrong credentials, or right ones by a method not registered
    # (told only to a caller that proved it holds the secret), in both languages.
    assert "wrong credentials" in wrong.json()["error_description"]
    assert unknown.json()["error_description"] == wrong.json()["error_description"]
    assert post.json()["error_description"] == (
        "The client is registered for client_secret_basic authentication, "
        "not client_secret_post.")
    assert "client_secret_basic" in post.json()["error_description_vi"]
    assert "sai" in wrong.json()["error_description_vi"]
    guess = await client.post(auth.TOKEN_PATH, data={
        "grant_type": "client_credentials", "client_id": cid, "client_secret": "guess"})
    assert "registered for" not in guess.json()["error_description"]
    for body in (wrong, unknown, grant, scope, post):
        assert created.client_secret not in body.text


async def test_client_secret_post(hub: Hub, client: httpx.AsyncClient) -> None:
    created = await new_client(hub, auth_method="client_secret_post")
    assert created.client_secret
    response = await client.post(auth.TOKEN_PATH, data={
        "grant_type": "client_credentials", "client_id": created.client.client_id,
        "client_secret": created.client_secret})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert (await client.get("/v1/products", headers=bearer(token))).status_code == 200


async def test_forged_tokens_get_401(hub: Hub, client: httpx.AsyncClient) -> None:
    created = await new_client(hub)
    cid = created.client.client_id
    genuine = await fetch_token(client, created)
    kid = jwt.decode(genuine, KeySet.import_key_set(
        (await client.get(auth.JWKS_PATH)).json())).header["kid"]
    own = auth.authority(hub)
    await own.keys.refresh()
    _, alg, real_key = own.keys.signing_key()
    good_header = {"alg": alg, "typ": "at+jwt", "kid": kid}
    forged = {
        "alg none": unsigned_token(claims_for(hub, cid), kid),
        "wrong key": sign_with(foreign_key(kid), claims_for(hub, cid),
                               {"alg": "ES256", "typ": "at+jwt", "kid": kid}),
        "wrong issuer": sign_with(real_key, claims_for(hub, cid, iss="https://evil.example"),
                                  good_header),
        "wrong audience": sign_with(real_key, claims_for(hub, cid, aud="another-api"),
                                    good_header),
        "expired": sign_with(real_key, claims_for(hub, cid, iat=int(time.time()) - 4000,
                                                  exp=int(time.time()) - 3000), good_header),
        "typ missing": sign_with(real_key, claims_for(hub, cid), {"alg": alg, "kid": kid}),
        "typ JWT": sign_with(real_key, claims_for(hub, cid),
                             {"alg": alg, "typ": "JWT", "kid": kid}),
        "unknown kid": sign_with(real_key, claims_for(hub, cid),
                                 {**good_header, "kid": "no-such-kid"}),
        "other agency": sign_with(real_key, claims_for(hub, cid, agency="G15"), good_header),
        "unknown client": sign_with(real_key, claims_for(hub, "ghost-client"), good_header),
        "garbage": "eyJhbGciOiJFUzI1NiJ9.garbage.garbage",
    }
    for name, token in forged.items():
        response = await client.get("/v1/products", headers=bearer(token))
        assert response.status_code == 401, (name, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer"), name
        assert token not in response.text
    # The genuine one, signed the same way, passes: the rejections are for the forgery.
    assert (await client.get("/v1/products", headers=bearer(genuine))).status_code == 200
    assert (await client.get(
        "/v1/products", headers=bearer(sign_with(real_key, claims_for(hub, cid), good_header))
    )).status_code == 200


async def test_deactivated_client_loses_its_tokens_and_gets_no_new_ones(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    created = await new_client(hub)
    assert created.client_secret
    token = await fetch_token(client, created)
    assert (await client.get("/v1/products", headers=bearer(token))).status_code == 200
    await auth.set_client_active(hub, created.client.client_id, False)
    assert (await client.get("/v1/products", headers=bearer(token))).status_code == 401
    refused = await client.post(auth.TOKEN_PATH, data={"grant_type": "client_credentials"},
                                headers=basic(created.client.client_id, created.client_secret))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


async def test_signing_key_rotation_keeps_tokens_in_flight(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    created = await new_client(hub)
    before = await fetch_token(client, created)
    old_kid = jwt.decode(before, KeySet.import_key_set(
        (await client.get(auth.JWKS_PATH)).json())).header["kid"]

    new_kid = await auth.rotate_signing_keys(hub.db, hub.settings, auth.authority(hub).box)
    auth.authority(hub).keys.forget()

    published = {k["kid"] for k in (await client.get(auth.JWKS_PATH)).json()["keys"]}
    assert {old_kid, new_kid} <= published
    assert all("d" not in k for k in (await client.get(auth.JWKS_PATH)).json()["keys"])
    after = await fetch_token(client, created)
    keys = KeySet.import_key_set((await client.get(auth.JWKS_PATH)).json())
    assert jwt.decode(after, keys).header["kid"] == new_kid
    for token in (before, after):
        assert (await client.get("/v1/products", headers=bearer(token))).status_code == 200


async def test_metadata_and_jwks(hub: Hub, client: httpx.AsyncClient) -> None:
    meta = (await client.get(auth.METADATA_PATH)).json()
    base = hub.settings.base_url
    assert meta["issuer"] == hub.settings.issuer_url
    assert meta["token_endpoint"] == base + "/oauth/token"
    assert meta["jwks_uri"] == base + "/.well-known/jwks.json"
    assert meta["grant_types_supported"] == ["client_credentials"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "private_key_jwt"}
    assert set(meta["token_endpoint_auth_signing_alg_values_supported"]) == {"ES256", "RS256"}
    assert "records:read" in meta["scopes_supported"]
    keys = (await client.get(auth.JWKS_PATH)).json()["keys"]
    assert keys and all(k["kty"] in ("EC", "RSA") and "d" not in k for k in keys)


async def test_signing_keys_are_stored_encrypted(hub: Hub) -> None:
    import sqlalchemy as sa

    from hub.tables import SigningKey

    await auth.authority(hub).keys.refresh()
    async with hub.db.session() as session:
        rows = (await session.scalars(sa.select(SigningKey))).all()
    assert rows
    for row in rows:
        assert '"d"' not in row.private_jwk_encrypted and "d" not in row.public_jwk


async def test_admin_tokens_carry_kind_and_role(hub: Hub) -> None:
    token = await auth.issue_access_token(
        hub, subject="nobody-admin", agency="", scopes=["admin"], kind="admin",
        role="hub_admin")
    # No such active admin user: refused, like an inactive client.
    with pytest.raises(Exception) as caught:
        await auth.verify_access_token(hub, token.access_token)
    assert getattr(caught.value, "status", None) == 401


async def test_production_needs_a_secret_key_and_ignores_dev_principals(
    database_url: str,
) -> None:
    from pydantic import ValidationError
    from starlette.requests import Request

    from gateway.deps import authenticate
    from hub import Settings, Unauthenticated
    from tests.conftest import auth as dev_auth
    from tests.conftest import make_settings

    with pytest.raises(ValidationError):
        Settings(environment="production", database_url=database_url)
    settings = make_settings(database_url, environment="production", secret_key="s" * 40)
    hub = Hub(settings)
    try:
        header = dev_auth("g16")["Authorization"].encode()
        request = Request({"type": "http", "method": "GET", "path": "/v1/products",
                           "headers": [(b"authorization", header)], "query_string": b""})
        with pytest.raises(Unauthenticated):
            await authenticate(request, hub)
    finally:
        await hub.close()


async def test_a_verified_token_is_remembered_only_while_it_and_its_key_are_valid(
    hub: Hub, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signature check of a token is remembered for its next requests (issue 20), but
    the token still ends at its expiry, when its signing key leaves the key ring, and when
    its client is deactivated (the test above), exactly as an unremembered one does."""
    created = await new_client(hub, scopes=["records:read"])
    token = await fetch_token(client, created)
    remembered = auth.authority(hub).verified_tokens
    assert (await client.get("/v1/products", headers=bearer(token))).status_code == 200
    assert token in remembered
    assert (await client.get("/v1/products", headers=bearer(token))).status_code == 200
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (await client.get("/v1/products", headers=bearer(tampered))).status_code == 401

    # Past its expiry (and the clock leeway), by the same clock everything else reads.
    expiry = jwt.decode(token, KeySet.import_key_set(
        (await client.get(auth.JWKS_PATH)).json())).claims["exp"]
    real_time = time.time
    with monkeypatch.context() as later:
        later.setattr(time, "time", lambda: real_time() + (expiry - real_time()) + 31)
        assert (await client.get("/v1/products", headers=bearer(token))).status_code == 401
    assert (await client.get("/v1/products", headers=bearer(token))).status_code == 200

    # Its key retired beyond the retention: the remembered token goes with the key.
    old_kid = jwt.decode(token, KeySet.import_key_set(
        (await client.get(auth.JWKS_PATH)).json())).header["kid"]
    await auth.rotate_signing_keys(hub.db, hub.settings, auth.authority(hub).box)
    async with hub.db.transaction() as session:
        await session.execute(sa.update(SigningKey).where(SigningKey.kid == old_kid).values(
            retired_at=datetime.now(UTC) - timedelta(days=3650)))
    auth.authority(hub).keys.forget()
    assert token in remembered
    assert (await client.get("/v1/products", headers=bearer(token))).status_code == 401
