"""Hub to hub: the central hub follows a provincial RightsHub's /v1/changes (a real second
hub on loopback, its own SQLite database and its own OAuth2 token endpoint)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

import connectors
from auth import create_client
from gateway import create_app
from hub import Hub
from hub._migrate import upgrade
from hub._seed import seed_reference
from tests.conftest import make_settings, token
from tests.connectors import FAST_RETRY, hub_products
from tests.integration import free_port

pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def provincial_hub(tmp_path: Path) -> AsyncIterator[tuple[str, Hub]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(f"sqlite:///{tmp_path / 'province.db'}", public_url=base,
                             secret_key="khoa-bi-mat-cua-hub-tinh-0123456789abcdef")
    await asyncio.to_thread(upgrade, settings)
    source = Hub(settings)
    await seed_reference(source.db)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            await asyncio.sleep(0.05)
        yield base, source
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
        await source.close()


async def _push(base: str, records: list[dict[str, object]]) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/v1/products:batch", json={"records": records},
                                     headers={"Authorization": f"Bearer {token('tq')}"})
        assert response.status_code == 200, response.text


async def test_a_provincial_hub_feeds_the_central_one(chub: Hub, tmp_path: Path) -> None:
    async with provincial_hub(tmp_path) as (base, source):
        created = await create_client(source, agency="08", name="Hub trung ương",
                                      scopes=["records:read", "changes:read"])
        books = [{"source_id": f"TQ-{n}", "kind": "book", "title": f"Sách quyền con người {n}",
                  "languages": ["vie"]} for n in range(1, 121)]
        await _push(base, books)
        config = {"kind": "hub", "base_url": base, "page_size": 50, "retry": FAST_RETRY,
                  "auth": {"type": "oauth2", "client_id": created.client.client_id}}
        async with chub.db.transaction() as session:
            info = await connectors.create_connector(
                chub, session, agency="08", name="Hub tỉnh Tuyên Quang", kind="hub",
                config=config, secrets=connectors.Secrets.model_validate(
                    {"client_secret": created.client_secret}))
        check = await connectors.check_connector(chub, info.id)
        assert check["ok"], check
        run = await connectors.run_connector(chub, info.id)
        assert run["status"] == "succeeded" and run["created"] == 120, run["errors"]
        live, _ = await hub_products(chub, "08")
        assert set(live) == {b["source_id"] for b in books}
        assert live["TQ-7"]["title"] == "Sách quyền con người 7"
        # Later changes at the province: an update and a delete travel too.
        await _push(base, [{**books[0], "title": "Sách quyền con người (tái bản)"},
                           {"source_id": "TQ-2", "_op": "delete"}])
        started = time.monotonic()
        again = await connectors.run_connector(chub, info.id)
        assert (again["created"], again["updated"], again["deleted"]) == (0, 1, 1), again
        assert time.monotonic() - started < 10
        live, deleted = await hub_products(chub, "08")
        assert live["TQ-1"]["title"] == "Sách quyền con người (tái bản)"
        assert deleted == {"TQ-2"}
        # Nothing new: the cursor stands, nothing is written.
        idle = await connectors.run_connector(chub, info.id)
        assert idle["created"] == idle["updated"] == idle["deleted"] == 0
