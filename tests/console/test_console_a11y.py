"""Accessibility basics of every console page, checked on the rendered HTML: one language
attribute, a skip link, every form control labelled (by ``<label for>`` or by an enclosing
label), every table header scoped, and no inline script (the CSP forbids them)."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

from auth._clients import create_client
from hub import Hub
from tests.console._helpers import new_admin, sign_in

pytestmark = pytest.mark.anyio

PAGES = ["/console/dashboard", "/console/records", "/console/import", "/console/agencies",
         "/console/agencies/G16", "/console/clients", "/console/connectors",
         "/console/subscriptions", "/console/users", "/console/audit", "/console/login"]


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.labels_for: set[str] = set()
        self.controls: list[tuple[str | None, bool, str]] = []  # (id, inside a label, tag)
        self.label_depth = 0
        self.unscoped_th = 0
        self.inline_scripts = 0
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.labels_for.add(str(a["for"]))
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append((a.get("id"), self.label_depth > 0, tag))
        elif tag == "th" and "scope" not in a:
            self.unscoped_th += 1
        elif tag == "script" and "src" not in a:
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1


async def test_every_page_is_labelled_and_scoped(hub: Hub, client: httpx.AsyncClient) -> None:
    created = await create_client(hub, agency="G16", name="a11y")
    await sign_in(client, await new_admin(hub))
    for path in [*PAGES, f"/console/clients/{created.client.client_id}"]:
        page = await client.get(path)
        assert page.status_code == 200, path
        audit = _Audit()
        audit.feed(page.text)
        assert audit.html_lang == "vi", path
        assert 'class="skip" href="#main"' in page.text, path
        unlabelled = [(i, tag) for i, inside, tag in audit.controls
                      if not inside and (i is None or i not in audit.labels_for)]
        assert unlabelled == [], (path, unlabelled)
        assert audit.unscoped_th == 0, path
        assert audit.inline_scripts == 0, path
