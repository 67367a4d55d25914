"""A real OAuth2 client (Authlib's httpx ``OAuth2Client``, not our code) against a real
``rightshub serve`` on loopback: discovers the token endpoint from the RFC 8414 metadata,
gets tokens with client_secret_basic, client_secret_post and private_key_jwt, and calls the
API; a replayed client assertion is refused; no secret or token reaches the logs."""

from __future__ import annotations

import json
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import RSAKey

from tests._cli import run_cli
from tests.integration import RIGHTSHUB, child_env, free_port, running_server

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign


# Authlib signs assertions valid for an hour; the hub accepts five minutes at most
# (RIGHTSHUB_CLIENT_ASSERTION_MAX_LIFETIME_SECONDS): a client asks for less.
ASSERTION_SECONDS = 120


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
    def sign(self, auth: Any, token_endpoint: str) -> Any:
        return private_key_jwt_sign(auth.client_secret, client_id=auth.client_id,
                                    token_endpoint=token_endpoint, alg=self.alg,
                                    expires_in=ASSERTION_SECONDS)


def _cli(cwd: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    """``rightshub ARGS --json`` in this process (tests/_cli.py), on the server's database;
    ``signing-keys rotate`` below runs as a real subprocess."""
    done = run_cli([*args, "--json"], cwd=cwd, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_real_client_gets_tokens_by_every_method_and_calls_the_api(tmp_path: Path) -> None:
    port = free_port()
    env = child_env(port=str(port))
    issued: list[str] = []
    with running_server(["--demo"], env=env, cwd=tmp_path, port=port) as server:
        base = server.base_url
        meta = httpx.get(f"{base}/.well-known/oauth-authorization-server").json()
        token_endpoint = meta["token_endpoint"]
        assert token_endpoint == f"{base}/oauth/token"

        # client_secret_basic: the demo client that `make run` creates.
        demo_secret = (tmp_path / "var" / "demo-client-secret").read_text().strip()
        issued.append(demo_secret)
        with OAuth2Client("demo-g16", demo_secret,
                          token_endpoint_auth_method="client_secret_basic") as oauth:
            token = oauth.fetch_token(token_endpoint, grant_type="client_credentials")
            issued.append(token["access_token"])
            listed = oauth.get(f"{base}/v1/products", params={"limit": 3})
            assert listed.status_code == 200, listed.text
            assert len(listed.json()["items"]) == 3

        # client_secret_post, registered with the CLI.
        post_client = _cli(tmp_path, env, "clients", "create", "--agency", "G15", "--name",
                           "post client", "--auth-method", "client_secret_post",
                           "--scopes", "records:read")
        issued.append(post_client["client_secret"])
        with OAuth2Client(post_client["client_id"], post_client["client_secret"],
                          token_endpoint_auth_method="client_secret_post") as oauth:
            token = oauth.fetch_token(token_endpoint, grant_type="client_credentials")
            issued.append(token["access_token"])
            assert token["scope"] == "records:read"
            assert oauth.get(f"{base}/v1/products").status_code == 200

        # private_key_jwt: the client's key pair is made here; only its public JWKS is sent.
        private = RSAKey.generate_key(2048, parameters={"kid": "client-key-1"}, private=True)
        jwks_file = tmp_path / "client-jwks.json"
        jwks_file.write_text(json.dumps({"keys": [private.as_dict(private=False)]}))
        jwt_client = _cli(tmp_path, env, "clients", "create", "--agency", "G16", "--name",
                          "jwt client", "--auth-method", "private_key_jwt",
                          "--jwks", str(jwks_file))
        assert jwt_client["client_secret"] is None
        client_id = jwt_client["client_id"]
        with OAuth2Client(client_id, private,
                          token_endpoint_auth_method="private_key_jwt") as oauth:
            oauth.register_client_auth_method(ShortLivedPrivateKeyJWT(token_endpoint))
            token = oauth.fetch_token(token_endpoint, grant_type="client_credentials")
            issued.append(token["access_token"])
            assert oauth.get(f"{base}/v1/products").status_code == 200

        # The same assertion twice: the second is a replay.
        assertion = private_key_jwt_sign(private, client_id=client_id,
                                         token_endpoint=token_endpoint, alg="RS256",
                                         expires_in=ASSERTION_SECONDS)
        issued.append(assertion)
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        first = httpx.post(token_endpoint, data=form)
        assert first.status_code == 200, first.text
        issued.append(first.json()["access_token"])
        replay = httpx.post(token_endpoint, data=form)
        assert replay.status_code in (400, 401)
        assert replay.json()["error"] == "invalid_client"

        # An assertion signed by another key is refused too.
        stranger = RSAKey.generate_key(2048, parameters={"kid": "client-key-1"}, private=True)
        forged = httpx.post(token_endpoint, data={**form, "client_assertion":
                            private_key_jwt_sign(stranger, client_id=client_id,
                                                 token_endpoint=token_endpoint, alg="RS256",
                                                 expires_in=ASSERTION_SECONDS)})
        assert forged.json()["error"] == "invalid_client"

        # An API key from the CLI works as a bearer token against the same server.
        key = _cli(tmp_path, env, "api-keys", "create", "--client", post_client["client_id"])
        issued.append(key["api_key"])
        assert key["api_key"].startswith("rhk_")
        assert httpx.get(f"{base}/v1/products", headers={"X-API-Key": key["api_key"]}
                         ).status_code == 200

        # Signing keys rotate under a running server: old tokens keep working.
        old_token = issued[1]
        subprocess.run([RIGHTSHUB, "signing-keys", "rotate"], cwd=tmp_path, env=env,
                       check=True, capture_output=True, timeout=60)
        assert httpx.get(f"{base}/v1/products", headers={"Authorization": f"Bearer {old_token}"}
                         ).status_code == 200
        banner = server.stdout()
        time.sleep(0.3)  # the last access line is written after the response

    assert "curl -s -u demo-g16:$(cat var/demo-client-secret)" in banner
    logs = server.stderr()
    assert logs.strip()
    for secret in issued:
        assert secret not in logs
        assert secret not in banner
