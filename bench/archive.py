"""Archive: a 2 GiB product file goes up through tus (PATCHes of 256 MiB) and comes back down
through the real server (``rightshub serve``, SQLite, local storage). The hub must stream
both ways: its peak RSS (the kernel's high-water mark, VmHWM, of the server process) should
stay under 200 MB whatever the file's size. ``--size`` gives the size in MiB (default 2048).

The file is sparse (a PDF header, then a hole), so generating it costs no time and no disk;
the hub still receives, hashes, stores and sends every byte. Figures: MB/s each way, the
time the hub takes to finish the upload (re-hash, type check, move into storage), and peak
RSS before and after.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import _common as c

DEFAULT_MIB = 2048
PATCH_BYTES = 256 * 1024 * 1024
READ = 1024 * 1024


def _sparse_file(path: Path, size: int) -> None:
    with path.open("wb") as f:
        f.write(b"%PDF-1.7\n% RightsHub archive benchmark\n")
        f.truncate(size)


def _vm(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _body(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(start)
        left = length
        while left:
            block = f.read(min(READ, left))
            if not block:
                return
            left -= len(block)
            yield block


def _file_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * READ):
            hasher.update(block)
    return hasher.hexdigest()


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Settings for the server only (``c.hub_env`` starts from ``os.environ``)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main(args: argparse.Namespace) -> None:
    size = (args.size or DEFAULT_MIB) * 1024 * 1024
    work = c.CACHE / "archive-bench"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source = work / "product.pdf"
    _sparse_file(source, size)
    t0 = time.perf_counter()
    digest = _file_sha256(source)
    local_hash_s = time.perf_counter() - t0

    url = c.fresh_sqlite("archive-bench.db")
    c.fresh_hub_database(url)
    env_extra = {"RIGHTSHUB_ARCHIVE_DIR": str(work / "store"),
                 "RIGHTSHUB_ARCHIVE_MAX_FILE_BYTES": str(size + 1)}
    headers = c.auth_headers()
    tus = {**headers, "Tus-Resumable": "1.0.0"}
    try:
        with _environ(env_extra), c.hub_server(url) as (base, pid), httpx.Client(
            base_url=base, timeout=600
        ) as http:
            rss_idle = _vm(pid, "VmRSS")
            record = http.put("/v1/products/BENCH-ARCHIVE", headers=headers, json={
                "kind": "video", "title": "Bench archive", "funding_source": "state_budget"})
            record.raise_for_status()
            record_id = record.json()["id"]
            meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in {
                "record_id": record_id, "filename": "product.pdf",
                "filetype": "application/pdf", "sha256": digest}.items())
            t0 = time.perf_counter()
            created = http.post("/v1/uploads", headers={
                **tus, "Upload-Length": str(size), "Upload-Metadata": meta})
            created.raise_for_status()
            location = created.headers["location"]
            offset = 0
            last_patch_s = 0.0
            while offset < size:
                length = min(PATCH_BYTES, size - offset)
                p0 = time.perf_counter()
                answer = http.patch(location, content=_body(source, offset, length), headers={
                    **tus, "Upload-Offset": str(offset), "Content-Length": str(length),
                    "Content-Type": "application/offset+octet-stream"})
                answer.raise_for_status()
                last_patch_s = time.perf_counter() - p0
                offset = int(answer.headers["upload-offset"])
            upload_s = time.perf_counter() - t0
            file_id = answer.headers["x-file-id"]
            rss_after_upload = _vm(pid, "VmHWM")

            t0 = time.perf_counter()
            hasher = hashlib.sha256()
            received = 0
            with http.stream("GET", f"/v1/files/{file_id}/content", headers=headers) as down:
                down.raise_for_status()
                for block in down.iter_raw(READ):
                    hasher.update(block)
                    received += len(block)
            download_s = time.perf_counter() - t0
            if hasher.hexdigest() != digest or received != size:
                raise RuntimeError("downloaded bytes differ from the uploaded file")
            peak = _vm(pid, "VmHWM")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    mb = size / 1e6
    result: dict[str, Any] = {
        "file_bytes": size,
        "patch_bytes": PATCH_BYTES,
        "upload_seconds": round(upload_s, 2),
        "upload_mb_per_s": round(mb / upload_s, 1),
        "last_patch_seconds": round(last_patch_s, 2),
        "download_seconds": round(download_s, 2),
        "download_mb_per_s": round(mb / download_s, 1),
        "client_sha256_seconds": round(local_hash_s, 2),
        "hub_rss_idle_mb": round(rss_idle / 1e6, 1),
        "hub_peak_rss_after_upload_mb": round(rss_after_upload / 1e6, 1),
        "hub_peak_rss_mb": round(peak / 1e6, 1),
        "under_200_mb": peak < 200e6,
    }
    c.print_table(
        f"archive: {size / 2**30:.2f} GiB through tus and back (SQLite, local storage)",
        ["measure", "value"],
        [(k, v) for k, v in result.items()],
    )
    c.write_results("archive", result)
