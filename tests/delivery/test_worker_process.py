"""End to end with the real worker process: ``rightshub worker --once`` delivers what the
ingest committed to a subscriber on loopback."""

from __future__ import annotations

import asyncio

import pytest

import connectors
from hub import Hub
from tests.api._helpers import product
from tests.conftest import make_settings
from tests.delivery.conftest import G16, HUB_ADMIN, Subscriber, hub_state
from tests.integration import RIGHTSHUB, child_env

pytestmark = pytest.mark.anyio
SECRET_KEY = "delivery-test-secret-key-0123456789abcdef"


async def test_rightshub_worker_delivers(
    database_url: str, backend: str, delivery_hub: Hub, subscriber: Subscriber
) -> None:
    if backend != "postgresql":
        pytest.skip("one process start is enough; PostgreSQL is the multi-process setup")
    hub = Hub(make_settings(database_url, secret_key=SECRET_KEY))
    try:
        created = await connectors.create_subscription(
            hub, HUB_ADMIN, agency="G15", name="worker", endpoint_url=subscriber.url)
        subscriber.secret = created.secret
        await hub.ingest.ingest(G16, "products", [product(f"WK{i}") for i in range(5)])
        await hub.ingest.ingest(G16, "products", [product("WK0", visibility="private")])
        env = child_env(database_url=database_url, secret_key=SECRET_KEY,
                        environment="test", log_level="warning")
        process = await asyncio.create_subprocess_exec(
            RIGHTSHUB, "worker", "--once", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0, err.decode()
        assert subscriber.refused == 0
        assert [e["op"] for e in subscriber.events()] == ["upsert"] * 5 + ["withdraw"]
        assert subscriber.state() == await hub_state(hub, "G15")
    finally:
        await hub.close()
