"""The tus 1.0 protocol in process (SQLite and PostgreSQL): capabilities, creation, offsets,
per-chunk checksums, conflicts, refusals at completion, termination and expiry clean-up."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from tests.api._helpers import assert_problem
from tests.archive.conftest import Archive, pdf_bytes, png_bytes, sha
from tests.conftest import auth

pytestmark = pytest.mark.anyio
TUS = {"Tus-Resumable": "1.0.0"}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def create(archive: Archive, length: int, **meta: str) -> Any:
    return await archive.client.post("/v1/uploads", headers={
        **auth("g16"), **TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(**meta),
    })


async def patch(archive: Archive, url: str, offset: int, body: bytes, **headers: str) -> Any:
    return await archive.client.patch(url, content=body, headers={
        **auth("g16"), **TUS, "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream", **headers,
    })


async def test_options_and_a_resumed_upload(archive: Archive) -> None:
    options = await archive.client.options("/v1/uploads")
    assert options.status_code == 204
    assert options.headers["tus-version"] == "1.0.0"
    assert set(options.headers["tus-extension"].split(",")) >= {
        "creation", "termination", "checksum", "expiration"}
    assert "sha1" in options.headers["tus-checksum-algorithm"]

    record_id = await archive.new_product("TUS-1")
    data = pdf_bytes(250_000, seed=b"tus")
    created = await create(archive, len(data), record_id=record_id, filename="Sách.pdf",
                           filetype="application/pdf", language="vie", sha256=sha(data))
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    assert url.startswith("/v1/uploads/") and created.headers["tus-resumable"] == "1.0.0"
    assert "upload-expires" in created.headers

    first = await patch(archive, url, 0, data[:100_000], **{
        "Upload-Checksum": "sha1 " + base64.b64encode(
            hashlib.sha1(data[:100_000]).digest()).decode()})
    assert first.status_code == 204 and first.headers["upload-offset"] == "100000"
    # A chunk whose checksum is wrong is dropped whole: 460, offset unchanged.
    wrong = await patch(archive, url, 100_000, data[100_000:150_000],
                        **{"Upload-Checksum": "sha256 " + base64.b64encode(b"x" * 32).decode()})
    assert_problem(wrong, 460)
    head = await archive.client.head(url, headers={**auth("g16"), **TUS})
    assert head.headers["upload-offset"] == "100000"
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    # The wrong offset is a conflict.
    assert_problem(await patch(archive, url, 5, data[5:10]), 409)
    # Another agency cannot see the upload.
    other = await archive.client.head(url, headers={**auth("g15"), **TUS})
    assert other.status_code == 404

    last = await patch(archive, url, 100_000, data[100_000:])
    assert last.status_code == 204, last.text
    assert last.headers["upload-offset"] == str(len(data))
    file_id = last.headers["x-file-id"]
    meta = (await archive.client.get(f"/v1/files/{file_id}", headers=auth("g16"))).json()
    assert meta["sha256"] == sha(data) and meta["name"] == "Sách.pdf"
    content = await archive.client.get(f"/v1/files/{file_id}/content", headers=auth("g16"))
    assert content.content == data
    assert archive.parts() == []


async def test_protocol_errors(archive: Archive) -> None:
    record_id = await archive.new_product("TUS-ERR")
    no_version = await archive.client.post("/v1/uploads", headers={
        **auth("g16"), "Upload-Length": "10", "Upload-Metadata": metadata(record_id=record_id)})
    assert_problem(no_version, 412)
    assert_problem(await create(archive, 10, filename="a.pdf"), 400)  # no record_id
    assert_problem(await create(archive, 0, record_id=record_id, filename="a.pdf"), 400)
    too_big = await create(archive, archive.hub.settings.archive_max_file_bytes + 1,
                           record_id=record_id, filename="a.pdf")
    assert_problem(too_big, 413)
    assert_problem(await create(archive, 10, record_id=record_id, filename="../x.pdf"), 400)
    # A type the archive does not take is refused before any byte travels.
    assert_problem(await create(archive, 10, record_id=record_id, filename="a.exe",
                                filetype="application/x-msdownload"), 415)
    bad_meta = await archive.client.post("/v1/uploads", headers={
        **auth("g16"), **TUS, "Upload-Length": "10", "Upload-Metadata": "record_id !!!"})
    assert_problem(bad_meta, 400)
    created = await create(archive, 10, record_id=record_id, filename="a.pdf")
    url = created.headers["location"]
    wrong_type = await archive.client.patch(url, content=b"x", headers={
        **auth("g16"), **TUS, "Upload-Offset": "0", "Content-Type": "application/pdf"})
    assert_problem(wrong_type, 415)
    assert_problem(await patch(archive, url, 0, b"x" * 11), 413)  # past Upload-Length
    terminated = await archive.client.delete(url, headers={**auth("g16"), **TUS})
    assert terminated.status_code == 204
    assert (await archive.client.head(url, headers={**auth("g16"), **TUS})).status_code == 404
    assert archive.parts() == []


async def test_a_file_refused_at_completion_leaves_nothing(archive: Archive) -> None:
    record_id = await archive.new_product("TUS-MISMATCH")
    data = png_bytes(30_000)
    created = await create(archive, len(data), record_id=record_id, filename="a.pdf",
                           filetype="application/pdf")
    url = created.headers["location"]
    assert (await patch(archive, url, 0, data[:10_000])).status_code == 204
    body = assert_problem(await patch(archive, url, 10_000, data[10_000:]), 422)
    assert body["detected"] == "image/png"
    assert (await archive.client.head(url, headers={**auth("g16"), **TUS})).status_code == 404
    assert archive.parts() == [] and archive.objects() == []
    record = (await archive.client.get("/v1/products/TUS-MISMATCH", headers=auth("g16"))).json()
    assert record["files"] == [] and record["version"] == 1
