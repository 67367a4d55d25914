"""The real server: ``rightshub serve`` as a subprocess on loopback (embedded SQLite in a
temporary working directory), probes, demo token, request ids, JSON logs, metrics, banner."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from tests.integration import child_env, free_port, running_server


def test_serve_demo_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    env = child_env(port=str(port))
    with running_server(["--demo"], env=env, cwd=tmp_path, port=port) as server:
        base = server.base_url
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}

        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}

        token = (tmp_path / "var" / "demo-token").read_text().strip()
        assert len(token) >= 32
        assert (tmp_path / "var" / "rightshub.db").is_file()  # var/ under the cwd
        products = httpx.get(f"{base}/v1/products", params={"limit": 5},
                             headers={"Authorization": f"Bearer {token}",
                                      "X-Request-ID": "test-req-0001"})
        assert products.status_code == 200, products.text
        assert len(products.json()["items"]) == 5
        assert products.headers["x-request-id"] == "test-req-0001"

        generated = httpx.get(f"{base}/v1/products")  # no token: 401 still gets an id
        assert generated.status_code == 401
        assert len(generated.headers["x-request-id"]) == 32
        unsafe = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
        assert unsafe.headers["x-request-id"] != "bad id\twith spaces"

        metrics = httpx.get(f"{base}/metrics")
        assert metrics.status_code == 200
        assert "rightshub_http_requests_total{" in metrics.text
        assert 'route="/v1/products"' in metrics.text
        banner = server.stdout()
        # The access line of the last request is written after the response is sent.
        time.sleep(0.3)

    assert f"{base}/docs" in banner
    assert f"curl -H 'Authorization: Bearer {token}' {base}/v1/products" in banner
    assert "Demo data:" in banner

    lines = [line for line in server.stderr().splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"log line is not JSON: {line!r}") from None
    assert all({"event", "level", "timestamp"} <= set(r) for r in records)
    uvicorn_lines = [r for r in records if r.get("logger", "").startswith("uvicorn")]
    assert any("Application startup complete" in r["event"] for r in uvicorn_lines)
    requests = [r for r in records if r["event"] == "request"]
    assert len(requests) >= 5
    assert all(r.get("request_id") for r in requests)
    ours = [r for r in requests if r["request_id"] == "test-req-0001"]
    assert len(ours) == 1
    assert ours[0]["path"] == "/v1/products" and ours[0]["status"] == 200
    assert ours[0]["client_id"] == "demo-g16"
    assert token not in server.stderr()  # no secret in the logs


def test_readyz_is_503_when_the_database_is_behind_its_migrations(tmp_path: Path) -> None:
    port = free_port()
    env = child_env(port=str(port), database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with running_server(["--no-demo"], env=env, cwd=tmp_path, port=port,
                        wait_for="/healthz") as server:
        started = time.monotonic()
        ready = httpx.get(f"{server.base_url}/readyz", timeout=15)
        assert time.monotonic() - started < 10
        assert ready.status_code == 503, ready.text
        body = ready.json()
        assert body["status"] == "not ready"
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["migrations"].startswith("at None")
