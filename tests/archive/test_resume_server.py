"""Resumable uploads against the real server (``rightshub serve`` on loopback) with tuspy, a
standard tus client: part of the file goes up, the connection is killed in the middle of a
PATCH, and a new client resumes from the offset the hub kept. The stored file's SHA-256 must
match. Once with the local filesystem (SQLite), once with S3-compatible storage served by
moto in server mode on loopback (PostgreSQL): each path runs once per session, not per
database, to keep the suite short.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tusclient.client import TusClient

from tests.integration import child_env, free_port, running_server

TOKEN = "test-token-resume-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SIZE = 3 * 1024 * 1024 + 12345
MOTO = str(Path(sys.executable).with_name("moto_server"))


def _sample(path: Path) -> str:
    data = b"%PDF-1.7\n" + os.urandom(SIZE - 9)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _server_env(database_url: str, port: int, archive: Path, **extra: str) -> dict[str, str]:
    principals = [{"token": TOKEN, "agency": "G16", "client_id": "resume-test",
                   "scopes": ["records:read", "records:write", "changes:read"]}]
    return child_env(
        database_url=database_url, port=str(port), environment="test",
        dev_principals=json.dumps(principals), archive_dir=str(archive),
        rate_limit_client="100000/minute", rate_limit_ip="100000/minute", **extra,
    )


def _cut_patch(base: str, upload_url: str, offset: int, body: bytes) -> None:
    """Send a PATCH announcing ``len(body)`` bytes, write half of them, drop the connection."""
    host, port = base.removeprefix("http://").split(":")
    head = (
        f"PATCH {upload_url} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nTus-Resumable: 1.0.0\r\n"
        f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head + body[: len(body) // 2])
        time.sleep(0.3)


def _offset(base: str, upload_url: str) -> int:
    answer = httpx.head(base + upload_url, headers={**AUTH, "Tus-Resumable": "1.0.0"})
    assert answer.status_code == 200, answer.status_code
    return int(answer.headers["upload-offset"])


def _upload_with_a_cut(base: str, tmp_path: Path) -> tuple[str, str, str]:
    """(record id, local sha256, file id) after a cut and a resume."""
    record = httpx.put(f"{base}/v1/products/RESUME-1", headers=AUTH, json={
        "kind": "ebook", "title": "Sách điện tử quyền con người",
        "funding_source": "state_budget"})
    assert record.status_code == 201, record.text
    record_id = record.json()["id"]
    path = tmp_path / "sach.pdf"
    digest = _sample(path)
    client = TusClient(f"{base}/v1/uploads", headers=AUTH)
    metadata = {"record_id": record_id, "filename": "Sách điện tử.pdf",
                "filetype": "application/pdf", "language": "vie"}
    first = client.uploader(str(path), chunk_size=512 * 1024, metadata=metadata,
                            upload_checksum=True)
    first.upload(stop_at=1024 * 1024)
    assert first.url is not None
    upload_url = first.url.removeprefix(base)
    assert _offset(base, upload_url) == 1024 * 1024

    chunk = path.read_bytes()[1024 * 1024 : 2 * 1024 * 1024]
    _cut_patch(base, upload_url, 1024 * 1024, chunk)
    deadline = time.monotonic() + 15
    while _offset(base, upload_url) != 1024 * 1024 + len(chunk) // 2:
        assert time.monotonic() < deadline, _offset(base, upload_url)
        time.sleep(0.1)

    # A new client, as after a restart: it asks the hub for the offset and goes on.
    resumed = TusClient(f"{base}/v1/uploads", headers=AUTH).uploader(
        str(path), url=first.url, chunk_size=1024 * 1024, upload_checksum=True)
    assert resumed.offset == 1024 * 1024 + len(chunk) // 2
    resumed.upload()
    files = httpx.get(f"{base}/v1/records/{record_id}/files", headers=AUTH).json()["items"]
    assert len(files) == 1
    return record_id, digest, files[0]["id"]


def _check_stored(base: str, digest: str, file_id: str) -> None:
    meta = httpx.get(f"{base}/v1/files/{file_id}", headers=AUTH).json()
    assert meta["sha256"] == digest and meta["size"] == SIZE
    assert meta["name"] == "Sách điện tử.pdf" and meta["media_type"] == "application/pdf"
    hasher = hashlib.sha256()
    with httpx.stream("GET", f"{base}/v1/files/{file_id}/content", headers=AUTH) as answer:
        assert answer.status_code == 200
        for block in answer.iter_bytes():
            hasher.update(block)
    assert hasher.hexdigest() == digest
    tail = httpx.get(f"{base}/v1/files/{file_id}/content",
                     headers={**AUTH, "Range": f"bytes={SIZE - 100}-"})
    assert tail.status_code == 206 and len(tail.content) == 100


def test_tuspy_resumes_after_a_cut_on_local_storage(
    database_url: str, backend: str, tmp_path: Path
) -> None:
    if backend != "sqlite":
        pytest.skip("runs once: local storage with SQLite (S3 runs with PostgreSQL)")
    port = free_port()
    archive = tmp_path / "archive"
    env = _server_env(database_url, port, archive)
    with running_server(["--no-demo"], env=env, cwd=tmp_path, port=port) as server:
        _, digest, file_id = _upload_with_a_cut(server.base_url, tmp_path)
        _check_stored(server.base_url, digest, file_id)
    stored = [p for p in (archive / "objects").rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [digest]
    assert list((archive / "uploads").iterdir()) == []


@contextlib.contextmanager
def moto_server(tmp_path: Path) -> Iterator[str]:
    """moto's S3 in server mode on loopback, in its own process group."""
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    process = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                assert process.poll() is None and time.monotonic() < deadline, "moto down"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_tuspy_resumes_after_a_cut_on_s3_storage(
    database_url: str, backend: str, tmp_path: Path
) -> None:
    if backend != "postgresql":
        pytest.skip("runs once: S3 storage with PostgreSQL (local storage runs with SQLite)")
    import boto3

    with moto_server(tmp_path) as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket="archive-test")
        port = free_port()
        archive = tmp_path / "archive"
        env = _server_env(
            database_url, port, archive, archive_storage="s3",
            archive_s3_endpoint_url=endpoint, archive_s3_bucket="archive-test",
            archive_s3_prefix="rightshub/", archive_s3_access_key_id="testing",
            archive_s3_secret_access_key="testing",
        )
        with running_server(["--no-demo"], env=env, cwd=tmp_path, port=port) as server:
            _, digest, file_id = _upload_with_a_cut(server.base_url, tmp_path)
            _check_stored(server.base_url, digest, file_id)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="archive-test")["Contents"]]
        assert keys == [f"rightshub/{digest}"]
        assert s3.head_object(Bucket="archive-test", Key=keys[0])["ContentLength"] == SIZE
        assert not (archive / "objects").exists()
        assert list((archive / "uploads").iterdir()) == []
