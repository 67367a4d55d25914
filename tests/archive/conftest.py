"""Fixtures of the product-archive tests: a hub whose archive lives in the test's temporary
folder (SQLite and PostgreSQL), an in-process client, sample files whose bytes are what
they claim to be, and a product record to attach them to."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gateway import create_app
from hub import DevPrincipal, Hub
from hub.tables import StoredFile
from tests.api._helpers import product
from tests.conftest import _clean, _dev_principals, auth, make_settings

ADMIN_TOKEN = "test-token-archive-admin-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def pdf_bytes(size: int = 20_000, seed: bytes = b"") -> bytes:
    body = hashlib.sha256(seed).digest() * (size // 32 + 1)
    return (b"%PDF-1.4\n" + body)[:size]


def png_bytes(size: int = 5_000) -> bytes:
    return (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(size))[:size]


def mp4_bytes(size: int = 50_000) -> bytes:
    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    return (head + os.urandom(size))[:size]


def epub_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr("OEBPS/content.opf", "<package/>")
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Archive:
    hub: Hub
    client: httpx.AsyncClient
    root: Path

    def objects(self) -> list[Path]:
        return sorted(p for p in (self.root / "objects").rglob("*") if p.is_file())

    def parts(self) -> list[Path]:
        uploads = self.root / "uploads"
        return sorted(uploads.iterdir()) if uploads.exists() else []

    async def new_product(self, source_id: str, caller: str = "g16", **extra: Any) -> str:
        response = await self.client.put(
            f"/v1/products/{source_id}", json=product(source_id, **extra), headers=auth(caller)
        )
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    async def upload(
        self, record_id: str, data: bytes, *, name: str = "sach.pdf",
        media_type: str = "application/pdf", caller: str = "g16", **params: str,
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/records/{record_id}/files", content=data,
            params={"name": name, **params},
            headers={**auth(caller), "Content-Type": media_type},
        )


@pytest.fixture
def archive_settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
async def archive(
    database_url: str, tmp_path: Path, archive_settings_overrides: dict[str, Any]
) -> AsyncIterator[Archive]:
    principals = [*_dev_principals(), DevPrincipal(
        token=ADMIN_TOKEN, agency="G16", client_id="archive-admin", scopes=["admin", "admin:hub"],
    )]
    settings = make_settings(
        database_url, archive_dir=tmp_path / "archive", dev_principals=principals,
        archive_simple_upload_max_bytes=1_000_000, **archive_settings_overrides,
    )
    hub = Hub(settings)
    await _clean(hub)
    async with hub.db.transaction() as session:  # blobs of earlier tests (their storage is gone)
        await session.execute(sa.delete(StoredFile))
    app = create_app(settings, hub=hub)
    app.state.hub = hub
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield Archive(hub, client, tmp_path / "archive")
    finally:
        await hub.close()
