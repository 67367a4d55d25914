"""Integrity and archiving (SQLite and PostgreSQL): ``rightshub archive verify`` finds changed
and missing files, the report of state-funded products without an archived main copy, and
the clean-up of abandoned uploads."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from typing import Any

import pytest

from hub import clean_abandoned_uploads, unarchived_state_funded, verify_archive
from tests.api._helpers import assert_problem
from tests.archive.conftest import ADMIN, Archive, pdf_bytes, png_bytes, sha
from tests.conftest import auth
from tests.integration import RIGHTSHUB, child_env

pytestmark = pytest.mark.anyio


def _verify_cli(archive: Archive, database_url: str) -> subprocess.CompletedProcess[str]:
    env = child_env(database_url=database_url, archive_dir=str(archive.root),
                    environment="test")
    return subprocess.run([RIGHTSHUB, "archive", "verify"], env=env, capture_output=True,
                          text=True, timeout=60)


async def test_verify_detects_changed_and_missing_files(
    archive: Archive, database_url: str
) -> None:
    record_id = await archive.new_product("VER-1")
    good, changed, missing = pdf_bytes(seed=b"1"), pdf_bytes(seed=b"2"), png_bytes()
    ids = {}
    for data, name, media in ((good, "a.pdf", "application/pdf"),
                              (changed, "b.pdf", "application/pdf"),
                              (missing, "c.png", "image/png")):
        response = await archive.upload(record_id, data, name=name, media_type=media,
                                        role="main" if media == "application/pdf" else "cover")
        assert response.status_code == 201
        ids[name] = response.json()["id"]
    report = await verify_archive(archive.hub)
    assert report.ok and report.checked == 3

    by_sha = {p.name: p for p in archive.objects()}
    target = by_sha[sha(changed)]
    raw = bytearray(target.read_bytes())
    raw[-1] ^= 0xFF  # one flipped bit, same size
    target.write_bytes(bytes(raw))
    by_sha[sha(missing)].unlink()

    # A file lost from storage answers 503 (not a response cut after its headers).
    lost = await archive.client.get(f"/v1/files/{ids['c.png']}/content", headers=auth("g16"))
    assert_problem(lost, 503)
    report = await verify_archive(archive.hub)
    assert not report.ok and report.checked == 3
    assert {(p.sha256, p.problem) for p in report.problems} == {
        (sha(changed), "changed"), (sha(missing), "missing")}
    assert all(p.records == ["products/VER-1 (G16)"] for p in report.problems)
    found = _verify_cli(archive, database_url)  # the real command, once
    assert found.returncode == 1, found.stdout + found.stderr
    assert sha(changed) in found.stdout and sha(missing) in found.stdout
    assert "changed" in found.stdout and "missing" in found.stdout


async def test_state_funded_products_without_a_main_copy(archive: Archive) -> None:
    funded = await archive.new_product("FUND-1", funding_source="state_budget")
    await archive.new_product("FUND-2", funding_source="local_budget")
    await archive.new_product("FUND-3", caller="g15", funding_source="state_budget")
    await archive.new_product("SPONSORED", funding_source="sponsorship")
    await archive.new_product("NO-SOURCE")
    async with archive.hub.db.session() as session:
        report = await unarchived_state_funded(session)
    assert report.total == 3
    assert {i["source_id"] for i in report.items} == {"FUND-1", "FUND-2", "FUND-3"}

    # A cover is not an archived copy; a main copy is.
    await archive.upload(funded, png_bytes(), name="bia.png", media_type="image/png",
                         role="cover")
    async with archive.hub.db.session() as session:
        assert (await unarchived_state_funded(session)).total == 3
    await archive.upload(funded, pdf_bytes())
    async with archive.hub.db.session() as session:
        assert (await unarchived_state_funded(session)).total == 2
        mine = await unarchived_state_funded(session, agencies={"G15"})
    assert [i["source_id"] for i in mine.items] == ["FUND-3"]

    answer = await archive.client.get("/v1/admin/archive/unarchived", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 2
    assert {i["source_id"] for i in body["items"]} == {"FUND-2", "FUND-3"}
    assert all(i["funding_source"] in ("state_budget", "local_budget") for i in body["items"])
    assert_problem(await archive.client.get("/v1/admin/archive/unarchived",
                                            headers=auth("g16")), 403)


@pytest.fixture
def archive_settings_overrides() -> dict[str, Any]:
    return {"archive_upload_expiry_hours": 0.0002}  # 0.72 s


async def test_abandoned_uploads_are_cleaned_up(archive: Archive) -> None:
    record_id = await archive.new_product("TUS-OLD")
    tus = {**auth("g16"), "Tus-Resumable": "1.0.0"}
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                    for k, v in {"record_id": record_id, "filename": "a.pdf"}.items())
    created = await archive.client.post("/v1/uploads", headers={
        **tus, "Upload-Length": "100000", "Upload-Metadata": meta})
    url = created.headers["location"]
    sent = await archive.client.patch(url, content=pdf_bytes(40_000), headers={
        **tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert sent.status_code == 204
    assert len(archive.parts()) == 1
    # Left by a process that died while staging, and a part file whose row is gone.
    (archive.root / "uploads" / "simple-dead.part").write_bytes(b"x")
    (archive.root / "uploads" / ("0" * 32 + ".part")).write_bytes(b"x")
    await asyncio.sleep(1.0)
    assert (await archive.client.head(url, headers=tus)).status_code == 410
    assert await clean_abandoned_uploads(archive.hub) == 3
    assert archive.parts() == []
    assert (await archive.client.head(url, headers=tus)).status_code == 404


async def test_the_worker_cleans_up_abandoned_uploads(archive: Archive) -> None:
    from connectors._worker import Worker

    record_id = await archive.new_product("TUS-WORKER")
    tus = {**auth("g16"), "Tus-Resumable": "1.0.0"}
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                    for k, v in {"record_id": record_id, "filename": "b.pdf"}.items())
    created = await archive.client.post("/v1/uploads", headers={
        **tus, "Upload-Length": "100000", "Upload-Metadata": meta})
    url = created.headers["location"]
    sent = await archive.client.patch(url, content=pdf_bytes(40_000), headers={
        **tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert sent.status_code == 204 and len(archive.parts()) == 1
    await asyncio.sleep(1.0)
    worker = Worker(archive.hub, deliveries=False)
    await worker.tick()
    assert archive.parts() == []
    assert (await archive.client.head(url, headers=tus)).status_code == 404
