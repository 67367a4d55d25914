"""Subscription pages against a real subscriber on loopback (SQLite and PostgreSQL): create
(the signing secret shown once), deliveries that fail become dead letters, redelivery from
the page, pause; another agency's admin sees nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

import connectors
from gateway import create_app
from hub import Hub
from tests.console._helpers import csrf, new_admin, sign_in
from tests.delivery.conftest import G16, HUB_ADMIN, Subscriber, delivery_hub
from tests.integration import free_port

pytestmark = pytest.mark.anyio
__all__ = ["delivery_hub"]  # the fixture, imported for this module


@pytest.fixture
async def web(delivery_hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(delivery_hub.settings, hub=delivery_hub)
    app.state.hub = delivery_hub
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def test_dead_letters_are_listed_and_redelivered(
    delivery_hub: Hub, web: httpx.AsyncClient
) -> None:
    hub = delivery_hub
    broken = Subscriber(free_port(), mode="fail")
    await broken.start()
    try:
        await sign_in(web, await new_admin(hub, role="agency_admin", agency="G16"))
        token = await csrf(web, "/console/subscriptions")
        made = await web.post("/console/subscriptions", data={
            "csrf_token": token, "agency": "G16", "name": "Cổng thông tin G16",
            "endpoint_url": broken.url, "record_types": ["products"], "deliver_from": "now"})
        assert made.status_code == 200, made.text
        assert "Lưu khoá ký ngay" in made.text
        assert re.search(r'id="new-secret" value="[^"]{32,}"', made.text)
        sid = re.search(r'action="/console/subscriptions/([^/"]+)/active"', made.text)
        assert sid
        page_url = f"/console/subscriptions/{sid.group(1)}"

        item = {"kind": "book", "title": "Sách", "languages": ["vie"]}
        await hub.ingest.ingest(G16, "products", [{**item, "source_id": f"D-{i}"}
                                                  for i in range(2)])
        for _ in range(400):
            info = await connectors.get_subscription(hub, HUB_ADMIN, sid.group(1))
            if info.dead_letters == 2:
                break
            await connectors.deliver_pending(hub)
        page = await web.get(page_url)
        dead = page.text[page.text.index('id="dead-letters"'):]
        assert dead.count('<span title="dead">Thư chết</span></td>') == 2
        deliveries = page.text[page.text.index('id="deliveries"'):]
        assert '<td class="num">500</td>' in deliveries

        broken.mode = "ok"
        again = await web.post(f"{page_url}/redeliver", data={"csrf_token": token})
        assert again.status_code == 303
        assert "Đã xếp 2 thư chết để gửi lại" in (await web.get(again.headers["location"])).text
        for _ in range(400):
            if len(broken.events()) == 2:
                break
            await connectors.deliver_pending(hub)
        assert len(broken.events()) == 2

        paused = await web.post(f"{page_url}/active", data={"csrf_token": token})
        assert paused.status_code == 303
        assert "Ngừng hoạt động" in (await web.get(page_url)).text

        await sign_in(web, await new_admin(hub, role="agency_admin", agency="G15"))
        assert (await web.get(page_url)).status_code == 404
        assert sid.group(1) not in (await web.get("/console/subscriptions")).text
    finally:
        await broken.stop()

