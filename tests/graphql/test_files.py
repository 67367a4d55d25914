"""A record's archived files through GraphQL: the product archive's metadata, one batch of
queries for a whole page (DataLoader), and only for records the caller may read."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway import create_app
from hub import Hub
from tests.api._helpers import product
from tests.conftest import _clean, auth, make_settings
from tests.graphql._helpers import data

pytestmark = pytest.mark.anyio


@pytest.fixture
async def archive_client(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    hub = Hub(make_settings(database_url, archive_dir=tmp_path / "archive"))
    await _clean(hub)
    app = create_app(hub.settings, hub=hub)
    app.state.hub = hub
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://hub.test") as client:
            yield client
    finally:
        await hub.close()


async def test_files_of_a_page(archive_client: httpx.AsyncClient) -> None:
    client = archive_client
    pdf = b"%PDF-1.4\n" + hashlib.sha256(b"sach").digest() * 600
    ids = {}
    for source_id in ("F1", "F2"):
        put = await client.put(f"/v1/products/{source_id}", json=product(source_id),
                               headers=auth("g16"))
        ids[source_id] = put.json()["id"]
    uploaded = await client.post(
        f"/v1/records/{ids['F1']}/files", content=pdf, params={"name": "sách.pdf"},
        headers={**auth("g16"), "Content-Type": "application/pdf"})
    assert uploaded.status_code == 201, uploaded.text
    found = await data(client, """{ products { nodes { sourceId files {
        id name mediaType size sha256 role attachedAt } } } }""")
    files = {n["sourceId"]: n["files"] for n in found["products"]["nodes"]}
    assert files["F2"] == []
    (meta,) = files["F1"]
    assert meta["id"] == uploaded.json()["id"] and meta["name"] == "sách.pdf"
    assert meta["sha256"] == hashlib.sha256(pdf).hexdigest() and meta["size"] == len(pdf)
    assert meta["mediaType"] == "application/pdf" and meta["role"] == "main"
