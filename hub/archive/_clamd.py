"""Malware scanning through ClamAV's daemon (Debian's ``clamav-daemon``), when configured.

Speaks clamd's ``INSTREAM`` command (see clamd(8)): the file goes over the socket in chunks,
each prefixed by its length as a 4-byte big-endian integer, then a zero-length chunk; the
daemon answers ``stream: OK`` or ``stream: <signature> FOUND``. The file is read from disk
chunk by chunk, never whole.
"""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from urllib.parse import urlsplit

import anyio.to_thread

from hub._errors import Unavailable

CHUNK = 256 * 1024
TIMEOUT = 120.0


def _unavailable(reason: str) -> Unavailable:
    return Unavailable(
        f"Không quét được mã độc (ClamAV): {reason}. Hãy thử lại sau.",
        f"Malware scanning (ClamAV) failed: {reason}. Try again later.",
    )


async def _connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return await asyncio.open_unix_connection(parts.path)
    if parts.scheme == "tcp" and parts.hostname:
        return await asyncio.open_connection(parts.hostname, parts.port or 3310)
    raise ValueError(f"archive_clamd must be tcp://host:port or unix:///path, not {url!r}")


async def scan_file(url: str, path: Path) -> str | None:
    """The signature name if clamd finds malware in the file, None if it is clean."""
    try:
        return await asyncio.wait_for(_scan(url, path), TIMEOUT)
    except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
        raise _unavailable(type(exc).__name__) from exc


async def _scan(url: str, path: Path) -> str | None:
    reader, writer = await _connect(url)
    try:
        writer.write(b"zINSTREAM\0")
        handle = await anyio.to_thread.run_sync(path.open, "rb")
        try:
            while block := await anyio.to_thread.run_sync(handle.read, CHUNK):
                writer.write(struct.pack(">I", len(block)) + block)
                await writer.drain()
        finally:
            handle.close()
        writer.write(struct.pack(">I", 0))
        await writer.drain()
        answer = (await reader.readuntil(b"\0")).rstrip(b"\0").decode("utf-8", "replace")
    finally:
        writer.close()
    # "stream: OK", "stream: Eicar-Test-Signature FOUND", "INSTREAM size limit exceeded. ERROR"
    verdict = answer.split(":", 1)[-1].strip()
    if verdict == "OK":
        return None
    if verdict.endswith(" FOUND"):
        return verdict.removesuffix(" FOUND").strip()
    raise _unavailable(answer[:200])
