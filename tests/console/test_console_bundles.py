"""The console's bundles page (``/console/bundles``): a bundle downloaded through the
provincial hub's console is uploaded through the central hub's console (SQLite and
PostgreSQL); the summary shows the counts and both hubs agree. A tampered file shows the
refusal in Vietnamese and imports nothing; an agency admin downloads as its own agency."""

from __future__ import annotations

import io
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

import auth
import connectors
from hub import Hub
from tests.console._helpers import csrf, new_admin, sign_in
from tests.integration.test_bundles import PROVINCE, Hubs, book, change_count, pdf, snapshot
from tests.integration.test_bundles_http import client_of, two_hubs

pytestmark = pytest.mark.anyio


@pytest.fixture
async def pair(database_url: str, tmp_path: Path) -> AsyncIterator[Hubs]:
    async with two_hubs(database_url, tmp_path) as hubs:
        yield hubs


async def signed_in(hub: Hub, client: httpx.AsyncClient, **role: str | None) -> str:
    answer = await sign_in(client, await new_admin(hub, **role))  # type: ignore[arg-type]
    assert answer.status_code == 303, answer.text[:300]
    return await csrf(client, "/console/bundles")


def tamper(body: bytes) -> bytes:
    """The same bundle with one record line changed (its checksum no longer matches)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(body)) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "records.ndjson":
                data = data.replace("Sách".encode(), b"Sach", 1)
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out.getvalue()


async def test_download_then_upload_into_another_hub(pair: Hubs) -> None:
    await pair.push([book(n) for n in range(1, 5)])
    await pair.attach("TQ-2", pdf("console"), "Tờ rơi.pdf")
    async with client_of(pair.source) as source, client_of(pair.central) as central:
        token = await signed_in(pair.source, source)
        page = await source.get("/console/bundles")
        assert page.status_code == 200
        assert "Gói trao đổi ngoại tuyến" in page.text and 'href="/console/bundles"' in page.text
        answer = await source.post("/console/bundles/export", data={
            "csrf_token": token, "as_agency": PROVINCE, "record_type": "products",
            "after": "0", "files": "1"})
        assert answer.status_code == 200, answer.text[:500]
        assert answer.headers["content-type"] == "application/x-tar"
        assert "attachment" in answer.headers["content-disposition"]
        path = pair.tmp / "console.rhbundle"
        path.write_bytes(answer.content)
        manifest = connectors.read_bundle(path, await auth.jwks(pair.source)).manifest
        assert (manifest.counts.changes, manifest.counts.files) == (5, 1)

        token = await signed_in(pair.central, central)
        page = await central.get("/console/bundles")
        assert pair.connector_id in page.text
        bad = await central.post("/console/bundles/import", data={
            "csrf_token": token, "connector": pair.connector_id},
            files={"file": ("console.rhbundle", tamper(answer.content), "application/x-tar")})
        assert bad.status_code == 422, bad.text[:500]
        assert "Gói bị từ chối, không nhập gì" in bad.text and "bundle-report" not in bad.text
        assert await change_count(pair.central) == 0
        done = await central.post("/console/bundles/import", data={
            "csrf_token": token, "connector": pair.connector_id},
            files={"file": ("console.rhbundle", answer.content, "application/x-tar")})
        assert done.status_code == 200, done.text[:500]
        assert "Kết quả nhập gói" in done.text
        assert '<td data-count="changes">5</td>' in done.text
        assert '<td data-count="created">4</td>' in done.text
        assert '<td data-count="files">1</td>' in done.text
        assert await snapshot(pair.central) == await snapshot(pair.source)
        before = await change_count(pair.central)
        again = await central.post("/console/bundles/import", data={
            "csrf_token": token, "connector": pair.connector_id},
            files={"file": ("console.rhbundle", answer.content, "application/x-tar")})
        assert again.status_code == 200, again.text[:500]
        assert '<td data-count="already_applied">5</td>' in again.text
        assert await change_count(pair.central) == before


async def test_agency_admin_downloads_as_its_own_agency(pair: Hubs) -> None:
    await pair.push([book(1), {**book(2), "visibility": "private"}])
    async with client_of(pair.source) as source:
        token = await signed_in(pair.source, source, role="agency_admin", agency="02")
        posing = await source.post("/console/bundles/export", data={
            "csrf_token": token, "as_agency": PROVINCE})
        assert posing.status_code == 403 and "cơ quan của mình" in posing.text
        own = await source.post("/console/bundles/export", data={
            "csrf_token": token, "files": "1"})
        assert own.status_code == 200, own.text[:500]
        path = pair.tmp / "hg.rhbundle"
        path.write_bytes(own.content)
        bundle = connectors.read_bundle(path, await auth.jwks(pair.source))
        assert bundle.manifest.selection.as_agency == "02"
        assert {c["record"]["source_id"] for c in bundle.changes} == {"TQ-1"}
        bad = await source.post("/console/bundles/export", data={
            "csrf_token": token, "after": "-3", "record_type": "songs"})
        assert bad.status_code == 400 and "phải là số nguyên không âm" in bad.text
        unknown = await source.post("/console/bundles/export", data={
            "csrf_token": token, "record_type": "songs"})
        assert unknown.status_code == 400 and "Không có loại hồ sơ songs" in unknown.text
        # Another admin's peers are not offered, nor importable.
        nothing = await source.post("/console/bundles/import", data={
            "csrf_token": token, "connector": "con-nope"},
            files={"file": ("x.rhbundle", b"x", "application/x-tar")})
        assert nothing.status_code == 404 and "Không có kết nối hub" in nothing.text
