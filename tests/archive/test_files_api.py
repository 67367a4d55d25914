"""Files on records over REST (SQLite and PostgreSQL): upload, metadata, the envelope and the
change feed carrying the file list, downloads (Range, ETag, signed links), access policy,
refusals that store nothing, and content addressing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.tables import RecordFile, StoredFile
from tests.api._helpers import assert_problem
from tests.archive.conftest import (
    Archive,
    epub_bytes,
    mp4_bytes,
    pdf_bytes,
    png_bytes,
    sha,
)
from tests.conftest import auth

pytestmark = pytest.mark.anyio


async def _rows(archive: Archive) -> int:
    async with archive.hub.db.session() as session:
        return int((await session.execute(
            sa.select(sa.func.count()).select_from(RecordFile))).scalar_one())


async def test_upload_attaches_a_file_and_the_record_changes(archive: Archive) -> None:
    record_id = await archive.new_product("AR-1")
    first_read = await archive.client.get("/v1/products/AR-1", headers=auth("g16"))
    before = first_read.json()
    data = pdf_bytes()
    response = await archive.upload(record_id, data, name="Sách nhân quyền.pdf",
                                    language="vie", sha256=sha(data))
    assert response.status_code == 201, response.text
    meta = response.json()
    assert meta["sha256"] == sha(data) and meta["size"] == len(data)
    assert meta["media_type"] == "application/pdf" and meta["role"] == "main"
    assert meta["name"] == "Sách nhân quyền.pdf" and meta["language"] == "vie"
    assert response.headers["location"] == f"/v1/files/{meta['id']}"

    after = await archive.client.get("/v1/products/AR-1", headers=auth("g16"))
    envelope = after.json()
    assert envelope["version"] == before["version"] + 1
    assert after.headers["etag"] != first_read.headers["etag"]  # If-Match sees the change
    assert envelope["content_hash"] == before["content_hash"]  # the data did not change
    assert [f["id"] for f in envelope["files"]] == [meta["id"]]
    listed = (await archive.client.get("/v1/products", headers=auth("g16"))).json()
    assert listed["items"][0]["files"][0]["sha256"] == sha(data)

    feed = (await archive.client.get("/v1/changes", headers=auth("g15"))).json()
    versions = [(c["record"]["version"], len(c["record"]["files"])) for c in feed["changes"]
                if c["record"]["id"] == record_id]
    assert versions == [(1, 0), (2, 1)]  # each version with the files it had

    # The same upload again is the same attachment, not a new version.
    again = await archive.upload(record_id, data, name="Sách nhân quyền.pdf")
    assert again.status_code == 200 and again.json()["id"] == meta["id"]
    assert (await archive.client.get("/v1/products/AR-1", headers=auth("g16"))).json()[
        "version"] == envelope["version"]

    # Re-pushing the same data is "unchanged" and keeps the files.
    summary = await archive.client.put(
        "/v1/products/AR-1", json={"kind": "book", "title": "Sách AR-1", "languages": ["vie"],
                                   "themes": ["vn_policy_law"]}, headers=auth("g16"))
    assert summary.json()["files"][0]["id"] == meta["id"]


async def test_detected_types_of_common_products(archive: Archive) -> None:
    record_id = await archive.new_product("AR-TYPES", kind="ebook")
    for data, media, name, role in (
        (epub_bytes(), "application/epub+zip", "sach.epub", "main"),
        (mp4_bytes(), "video/mp4", "bai-giang.mp4", "main"),
        (png_bytes(), "image/png", "bia.png", "cover"),
        (b"WEBVTT\n\n00:00.000 --> 00:01.000\nXin ch\xc3\xa0o\n", "text/vtt", "phu-de.vtt",
         "subtitles"),
    ):
        response = await archive.upload(record_id, data, name=name, media_type=media,
                                        role=role)
        assert response.status_code == 201, (name, response.text)
        assert response.json()["media_type"] == media
    # No declared type: taken from the bytes.
    guessed = await archive.upload(record_id, pdf_bytes(seed=b"x"), name="x.pdf",
                                   media_type="application/octet-stream")
    assert guessed.json()["media_type"] == "application/pdf"


async def test_refusals_are_clear_and_store_nothing(archive: Archive) -> None:
    record_id = await archive.new_product("AR-BAD")
    # Bytes of a PNG declared as a PDF.
    body = assert_problem(await archive.upload(record_id, png_bytes(), name="a.pdf"), 422)
    assert body["declared"] == "application/pdf" and body["detected"] == "image/png"
    # Over the size limit (archive_simple_upload_max_bytes = 1,000,000 in these tests).
    assert_problem(await archive.upload(record_id, pdf_bytes(1_200_000), name="big.pdf"), 413)
    # Path traversal and control characters in the name.
    for name in ("../../etc/passwd", "..\\..\\boot.ini", "a/b.pdf", "x\u202efdp.exe", "..",
                 "bad\x00name.pdf"):
        assert_problem(await archive.upload(record_id, pdf_bytes(), name=name), 400)
    # A type the archive does not take, and a bad role.
    assert_problem(await archive.upload(record_id, b"MZ\x90\x00" + bytes(100), name="a.exe",
                                        media_type="application/x-msdownload"), 415)
    assert_problem(await archive.upload(record_id, pdf_bytes(), role="poster"), 400)
    # A declared checksum that the bytes do not have.
    assert_problem(await archive.upload(record_id, pdf_bytes(), sha256="0" * 64), 460)
    assert archive.objects() == [] and archive.parts() == []
    assert await _rows(archive) == 0


async def test_only_the_owner_writes_and_reads_follow_the_record(archive: Archive) -> None:
    private_id = await archive.new_product("AR-PRIV", visibility="private")
    shared_id = await archive.new_product("AR-SHARED")
    assert_problem(await archive.upload(shared_id, pdf_bytes(), caller="g15"), 403)
    assert_problem(await archive.upload(private_id, pdf_bytes(), caller="g15"), 404)
    assert_problem(await archive.upload(shared_id, pdf_bytes(), caller="reader"), 403)
    private_file = (await archive.upload(private_id, pdf_bytes(seed=b"p"))).json()["id"]
    shared_file = (await archive.upload(shared_id, pdf_bytes(seed=b"s"))).json()["id"]

    for path in (f"/v1/files/{private_file}", f"/v1/files/{private_file}/content",
                 f"/v1/records/{private_id}/files"):
        assert_problem(await archive.client.get(path, headers=auth("g15")), 404)
    assert (await archive.client.get(f"/v1/files/{shared_file}/content",
                                     headers=auth("g15"))).status_code == 200
    assert_problem(await archive.client.delete(f"/v1/files/{shared_file}",
                                               headers=auth("g15")), 403)
    assert_problem(await archive.client.get(f"/v1/files/{shared_file}/content"), 401)


async def test_downloads_range_etag_and_signed_links(archive: Archive) -> None:
    record_id = await archive.new_product("AR-DL", kind="video")
    data = mp4_bytes(300_000)
    file_id = (await archive.upload(record_id, data, name="Bài giảng 1.mp4",
                                    media_type="video/mp4")).json()["id"]
    url = f"/v1/files/{file_id}/content"
    full = await archive.client.get(url, headers=auth("g15"))
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "video/mp4"
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["etag"] == f'"{sha(data)}"'
    assert "filename*=UTF-8''B%C3%A0i%20gi%E1%BA%A3ng%201.mp4" in full.headers[
        "content-disposition"]

    part = await archive.client.get(url, headers={**auth("g15"), "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = await archive.client.get(url, headers={**auth("g15"), "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    open_end = await archive.client.get(url, headers={**auth("g15"), "Range": "bytes=299990-"})
    assert open_end.content == data[299990:]
    bad = await archive.client.get(url, headers={**auth("g15"), "Range": "bytes=400000-"})
    assert_problem(bad, 416)
    assert bad.headers["content-range"] == f"bytes */{len(data)}"
    stale = await archive.client.get(url, headers={**auth("g15"), "Range": "bytes=0-9",
                                                   "If-Range": '"other"'})
    assert stale.status_code == 200 and len(stale.content) == len(data)
    cached = await archive.client.get(url, headers={**auth("g15"),
                                                    "If-None-Match": full.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    head = await archive.client.head(url, headers=auth("g15"))
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))

    link = await archive.client.post(f"/v1/files/{file_id}/link", headers=auth("g15"))
    assert link.status_code == 200, link.text
    signed = link.json()["url"].removeprefix("http://hub.test")
    followed = await archive.client.get(signed, headers={"Range": "bytes=0-99"})
    assert followed.status_code == 206 and followed.content == data[:100]
    assert_problem(await archive.client.get(signed[:-1] + ("0" if signed[-1] != "0" else "1")),
                   401)
    expired = signed.replace("expires=", "expires=1")  # another expiry: signature breaks
    assert_problem(await archive.client.get(expired), 401)


async def test_same_bytes_stored_once_and_kept_while_used(archive: Archive) -> None:
    from datetime import timedelta

    from hub import collect_orphan_files

    first = await archive.new_product("AR-A")
    second = await archive.new_product("AR-B")
    data = pdf_bytes(seed=b"shared")
    a = (await archive.upload(first, data)).json()
    b = (await archive.upload(second, data, name="ban-sao.pdf")).json()
    assert a["id"] != b["id"] and a["sha256"] == b["sha256"]
    assert len(archive.objects()) == 1

    deleted = await archive.client.delete("/v1/products/AR-A", headers=auth("g16"))
    assert deleted.status_code == 204
    assert await collect_orphan_files(archive.hub, grace=timedelta(0)) == 0
    assert len(archive.objects()) == 1  # AR-B still uses it
    assert_problem(await archive.client.get(f"/v1/files/{a['id']}", headers=auth("g16")), 404)
    content = await archive.client.get(f"/v1/files/{b['id']}/content", headers=auth("g16"))
    assert content.content == data

    removed = await archive.client.delete(f"/v1/files/{b['id']}", headers=auth("g16"))
    assert removed.status_code == 204
    record = (await archive.client.get("/v1/products/AR-B", headers=auth("g16"))).json()
    assert record["files"] == [] and record["version"] == 3
    assert await collect_orphan_files(archive.hub, grace=timedelta(0)) == 1
    assert archive.objects() == []
    async with archive.hub.db.session() as session:
        row = await session.get(StoredFile, sha(data))
        assert row is not None and row.removed_at is not None
    # Uploaded again later: stored again.
    again = await archive.upload(second, data)
    assert again.status_code == 201 and len(archive.objects()) == 1


async def test_subscriber_events_carry_the_file_list(archive: Archive) -> None:
    """Deliveries read the change log through the change feed: a file change reaches a
    subscriber as an upsert of the record with its files."""
    from connectors._outbox import EventFilter, next_events

    record_id = await archive.new_product("AR-SUB")
    file_id = (await archive.upload(record_id, pdf_bytes(seed=b"sub"))).json()["id"]
    await archive.client.delete(f"/v1/files/{file_id}", headers=auth("g16"))
    graph = await archive.hub.catalog.agencies()
    flt = EventFilter.build("sub-1", "G15", graph, record_types=["products"],
                            owner_agencies=None, themes=None)
    async with archive.hub.db.session() as session:
        batch = await next_events(session, flt, graph, after=0, limit=100)
    mine = [e for e in batch.events if e["record"]["id"] == record_id]
    assert [(e["op"], e["record"]["version"], [f["id"] for f in e["record"]["files"]])
            for e in mine] == [("upsert", 1, []), ("upsert", 2, [file_id]), ("upsert", 3, [])]
    assert all(e["event_id"].startswith("evt_") for e in mine)


async def test_files_for_records_follows_the_read_policy(archive: Archive) -> None:
    """The core call GraphQL and the console use: one query for many records, records the
    caller may not read left out."""
    from hub import Principal, files_for_records

    shared = await archive.new_product("AR-GQL-1")
    private = await archive.new_product("AR-GQL-2", visibility="private")
    bare = await archive.new_product("AR-GQL-3")
    one = (await archive.upload(shared, pdf_bytes(seed=b"g1"))).json()["id"]
    two = (await archive.upload(private, pdf_bytes(seed=b"g2"))).json()["id"]
    ids = [shared, private, bare, "not-a-uuid"]
    owner = Principal("client-g16", "G16", frozenset({"records:read"}))
    other = Principal("client-g15", "G15", frozenset({"records:read"}))
    mine = await files_for_records(archive.hub, owner, ids)
    assert {k: [f.id for f in v] for k, v in mine.items()} == {
        shared: [one], private: [two], bare: []}
    theirs = await files_for_records(archive.hub, other, ids)
    assert {k: [f.id for f in v] for k, v in theirs.items()} == {shared: [one], bare: []}
    assert theirs[shared][0].sha256 == sha(pdf_bytes(seed=b"g1"))


async def test_list_pages_carry_each_records_current_files(archive: Archive) -> None:
    """A list page reads its records' files with them (one statement on PostgreSQL, issue 20):
    each item's files are the ones its own read answers, oldest first, none once detached."""
    ids = {n: await archive.new_product(f"LF-{n}") for n in range(4)}
    uploaded: dict[int, list[str]] = {n: [] for n in ids}
    for n, record_id in ids.items():
        for k in range(n):  # LF-0 none, LF-3 three
            data = pdf_bytes(2_000 + k, seed=f"LF-{n}-{k}".encode())
            answer = await archive.upload(record_id, data, name=f"tệp {k}.pdf")
            assert answer.status_code == 201, answer.text
            uploaded[n].append(answer.json()["id"])
    removed = await archive.client.delete(f"/v1/files/{uploaded[3][1]}", headers=auth("g16"))
    assert removed.status_code == 204, removed.text
    page = await archive.client.get("/v1/products?limit=3", headers=auth("g16"))
    assert page.status_code == 200, page.text
    rest = await archive.client.get(
        "/v1/products", params={"cursor": page.json()["next_cursor"]}, headers=auth("g16"))
    items = {i["source_id"]: i for i in [*page.json()["items"], *rest.json()["items"]]}
    assert [f["id"] for f in items["LF-3"]["files"]] == [uploaded[3][0], uploaded[3][2]]
    assert [f["id"] for f in items["LF-2"]["files"]] == uploaded[2]
    assert items["LF-0"]["files"] == []
    for n in ids:
        one = await archive.client.get(f"/v1/products/LF-{n}", headers=auth("g16"))
        assert items[f"LF-{n}"]["files"] == one.json()["files"]
    assert [f["name"] for f in items["LF-3"]["files"]] == ["tệp 0.pdf", "tệp 2.pdf"]
