"""Where archived bytes live, behind one small interface: the local filesystem (the embedded
default) or S3-compatible object storage (boto3, for production).

Keys are SHA-256 hex digests: content-addressed, so the same bytes are stored once whatever
the number of records that use them, and a key never names two different contents.
Every call streams: nothing reads a whole object into memory. boto3 is synchronous, so its
calls run in worker threads.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from hub._settings import Settings

CHUNK = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{64}$")


def _check_key(key: str) -> str:
    # Keys are built by the hub from digests, never from client text; checked anyway because
    # a key becomes a path.
    if not _KEY.match(key):
        raise ValueError(f"not a SHA-256 storage key: {key!r}")
    return key


class Storage(Protocol):
    """One implementation per backend. ``put`` takes a local file the hub staged (and may
    move it away); ``read`` yields ``length`` bytes from ``start`` (to the end when None)."""

    name: str

    async def has(self, key: str) -> bool: ...

    async def size_of(self, key: str) -> int | None: ...

    async def put(self, key: str, source: Path) -> None: ...

    def read(self, key: str, start: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        ...

    async def delete(self, key: str) -> None: ...

    def keys(self) -> AsyncIterator[str]:
        """Every stored key, in no particular order (backup and restore list the storage)."""
        ...


class LocalStorage:
    """Files under ``root/objects/ab/cd/<sha256>``. A staged upload on the same filesystem is
    moved into place by a rename: finishing a multi-gigabyte upload copies nothing."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root / "objects"

    def path(self, key: str) -> Path:
        key = _check_key(key)
        return self.root / key[:2] / key[2:4] / key

    async def has(self, key: str) -> bool:
        return await anyio.to_thread.run_sync(self.path(key).is_file)

    async def size_of(self, key: str) -> int | None:
        def stat() -> int | None:
            try:
                return self.path(key).stat().st_size
            except FileNotFoundError:
                return None

        return await anyio.to_thread.run_sync(stat)

    async def put(self, key: str, source: Path) -> None:
        target = self.path(key)

        def move() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".incoming")
            try:
                os.replace(source, partial)
            except OSError:  # another filesystem: copy, then rename into place
                shutil.copyfile(source, partial)
                source.unlink(missing_ok=True)
            os.replace(partial, target)  # atomic: readers see the whole file or none

        await anyio.to_thread.run_sync(move)

    async def read(
        self, key: str, start: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        handle = await anyio.to_thread.run_sync(self.path(key).open, "rb")
        try:
            await anyio.to_thread.run_sync(handle.seek, start)
            remaining = length
            while remaining is None or remaining > 0:
                size = CHUNK if remaining is None else min(CHUNK, remaining)
                block = await anyio.to_thread.run_sync(handle.read, size)
                if not block:
                    break
                if remaining is not None:
                    remaining -= len(block)
                yield block
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self.path(key).unlink(missing_ok=True))

    async def keys(self) -> AsyncIterator[str]:
        def walk() -> list[str]:  # names only: a partial ``.incoming`` file is not a key
            if not self.root.is_dir():
                return []
            return [p.name for p in self.root.glob("*/*/*") if _KEY.match(p.name)]

        for key in await anyio.to_thread.run_sync(walk):
            yield key


class S3Storage:
    """Objects ``<prefix><sha256>`` in one bucket of any S3-compatible store (AWS S3, MinIO,
    Ceph...). Large files go up as multipart uploads of 8 MiB parts, four at a time, so memory
    stays near 32 MiB whatever the file's size."""

    name = "s3"
    PART = 8 * 1024 * 1024

    def __init__(self, settings: Settings) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        secret = settings.archive_s3_secret_access_key
        self.bucket = settings.archive_s3_bucket
        self.prefix = settings.archive_s3_prefix
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.archive_s3_endpoint_url,
            region_name=settings.archive_s3_region,
            aws_access_key_id=settings.archive_s3_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"},
                          s3={"addressing_style": "path"}),
        )
        self.transfer = TransferConfig(
            multipart_threshold=self.PART, multipart_chunksize=self.PART, max_concurrency=4
        )

    def _key(self, key: str) -> str:
        return self.prefix + _check_key(key)

    async def size_of(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        def head() -> int | None:
            try:
                answer = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
            return int(answer["ContentLength"])

        return await anyio.to_thread.run_sync(head)

    async def has(self, key: str) -> bool:
        return await self.size_of(key) is not None

    async def put(self, key: str, source: Path) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.upload_file(
                str(source), self.bucket, self._key(key), Config=self.transfer
            )
        )
        with contextlib.suppress(FileNotFoundError):
            source.unlink()

    async def read(
        self, key: str, start: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            args["Range"] = f"bytes={start}-{end}"
        answer = await anyio.to_thread.run_sync(lambda: self.client.get_object(**args))
        body = answer["Body"]
        try:
            while True:
                block = await anyio.to_thread.run_sync(body.read, CHUNK)
                if not block:
                    break
                yield block
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(
            lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        )

    async def keys(self) -> AsyncIterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        iterator = iter(pages)
        while True:  # one page (up to 1,000 keys) per worker-thread call
            page = await anyio.to_thread.run_sync(next, iterator, None)
            if page is None:
                return
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(self.prefix):]
                if _KEY.match(name):
                    yield name


def storage_for(settings: Settings) -> Storage:
    if settings.archive_storage == "s3":
        return S3Storage(settings)
    return LocalStorage(settings.archive_root)
