"""A closed network: every browser page the hub serves works with all outside traffic blocked.

Debian's Chromium (Playwright) against the hub on loopback; every request to a host other
than the hub is aborted and recorded, names resolve to nothing but loopback, and the pages'
console errors (a Content-Security-Policy refusal shows there) are collected. /docs runs an
operation with Swagger UI's "Try it out", /redoc renders the operations, GraphiQL runs a
query, and each console page renders signed in. Screenshots go to tests/artefacts/offline/.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import uvicorn

from gateway import create_app
from hub import Hub, Settings
from hub._migrate import upgrade
from hub._seed import seed_reference
from tests.console._helpers import PASSWORD, new_admin, seed_programme
from tests.integration import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts" / "offline"
TOKEN = "offline-test-token-0123456789abcdef"
# Nothing but loopback resolves: a page that named another host could not even look it up.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
CONSOLE_PAGES = ("/console/dashboard", "/console/agencies", "/console/clients",
                 "/console/connectors", "/console/subscriptions", "/console/import",
                 "/console/records", "/console/audit", "/console/users")

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Debian's chromium is not installed (.ci/chromium)")


async def _prepare(settings: Settings) -> str:
    hub = Hub(settings)
    try:
        await seed_reference(hub.db)
        await seed_programme(hub)
        return await new_admin(hub)
    finally:
        await hub.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("offline")
    port = free_port()
    settings = Settings(
        database_url=f"sqlite:///{folder / 'hub.db'}", environment="test", port=port,
        public_url=f"http://127.0.0.1:{port}", rate_limit_client="100000/minute",
        rate_limit_ip="100000/minute", graphql_graphiql=True,
        dev_principals=[{"token": TOKEN, "agency": "G16", "client_id": "offline",
                         "scopes": ["records:read", "records:write"]}],
    )
    upgrade(settings)
    username = asyncio.run(_prepare(settings))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", username
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@needs_chromium
def test_every_page_works_with_outside_traffic_blocked(served: tuple[str, str]) -> None:
    from playwright.sync_api import Route, expect, sync_playwright

    base, username = served
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    blocked: list[str] = []
    errors: list[str] = []

    def only_the_hub(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == urlsplit(base).netloc or url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    # The bundles are large (ReDoc, GraphiQL): a loaded CI machine needs more than 5 s.
    expect.set_options(timeout=20_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
        context.route("**/*", only_the_hub)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))

        # Swagger UI: the operations render, and one (the public health check) runs from
        # "Try it out".
        page.goto(base + "/docs")
        operation = page.locator(".opblock", has=page.locator(
            ".opblock-summary-path[data-path='/healthz']")).first
        expect(operation).to_be_visible()
        operation.locator(".opblock-summary").first.click()
        operation.get_by_role("button", name="Try it out").click()
        operation.get_by_role("button", name="Execute").click()
        expect(operation.locator(".live-responses-table tbody .response-col_status").first
               ).to_have_text("200")
        page.screenshot(path=str(ARTEFACTS / "docs.png"))

        # ReDoc: the API's title and an operation of the list.
        page.goto(base + "/redoc")
        expect(page.locator("h1", has_text="RightsHub API")).to_be_visible()
        expect(page.get_by_text("The agency registry as of a date").first).to_be_attached()
        page.screenshot(path=str(ARTEFACTS / "redoc.png"))

        # GraphiQL: a query and the Authorization header in its editors (the page's own
        # share-link parameters), run with the play button, the answer read back.
        query = "{ products(first: 2) { nodes { title } } }"
        headers = json.dumps({"Authorization": f"Bearer {TOKEN}"})
        page.goto(f"{base}/graphql?q={quote(query)}&headers={quote(headers)}")
        expect(page.locator(".graphiql-query-editor").first).to_contain_text("products")
        page.locator(".graphiql-execute-button").click()
        expect(page.locator(".graphiql-response")).to_contain_text('"nodes"')
        expect(page.locator(".graphiql-response")).to_contain_text('"title"')
        page.screenshot(path=str(ARTEFACTS / "graphiql.png"))

        # The console, signed in: every page renders its heading.
        page.goto(base + "/console/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/console/dashboard")
        for path in CONSOLE_PAGES:
            page.goto(base + path)
            expect(page.locator("main h1").first).to_be_visible()
            page.screenshot(path=str(ARTEFACTS / f"console-{path.rsplit('/', 1)[1]}.png"))
        browser.close()

    assert blocked == [], blocked
    assert errors == [], errors


def test_graphiql_files_are_pinned_and_vendored() -> None:
    """Every file Strawberry's GraphiQL page names is in the lock, fetched, and matches its
    SRI hash; a page naming a file that was not vendored is refused, never sent to a CDN."""
    import base64
    import hashlib

    from strawberry.http.ides import get_graphql_ide_html

    from gateway._assets_fetch import LOCK, VENDOR, cdn_files, local_path
    from gateway._docs import AssetsMissing, offline_graphiql

    lock = json.loads(LOCK.read_text(encoding="utf-8"))["packages"]
    named = cdn_files(get_graphql_ide_html(graphql_ide="graphiql"))
    assert len(named) >= 5
    for f in named:
        assert lock[f"{f['package']}@{f['version']}"]["files"][f["path"]] == f["integrity"]
        data = (VENDOR / local_path(f["package"], f["version"], f["path"])).read_bytes()
        assert f"sha384-{base64.b64encode(hashlib.sha384(data).digest()).decode()}" == \
            f["integrity"]
    page = offline_graphiql(get_graphql_ide_html(graphql_ide="graphiql"))
    assert "unpkg.com" not in page and "/static/vendor/graphiql@" in page
    stranger = ('<script src="https://unpkg.com/left-pad@1.3.0/index.js" '
                'integrity="sha384-AAAA"></script>')
    with pytest.raises(AssetsMissing):
        offline_graphiql(stranger)
