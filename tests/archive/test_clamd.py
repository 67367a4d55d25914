"""Malware scanning (SQLite and PostgreSQL) through clamd's INSTREAM protocol.

A real clamd cannot get virus definitions offline, so the peer here is a small loopback
server that speaks INSTREAM as clamd(8) documents it (length-prefixed chunks, a zero-length
end, a NUL-terminated answer) and flags the EICAR test string, as clamd's own test signature
does. The hub's client code is the real one.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from hub.tables import AuditEntry
from tests.api._helpers import assert_problem
from tests.archive.conftest import Archive, pdf_bytes
from tests.integration import free_port

pytestmark = pytest.mark.anyio

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
PORT = free_port()


async def _clamd_peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    command = await reader.readuntil(b"\0")
    assert command == b"zINSTREAM\0"
    seen = bytearray()
    while True:
        (size,) = struct.unpack(">I", await reader.readexactly(4))
        if size == 0:
            break
        seen += await reader.readexactly(size)
    verdict = b"stream: Eicar-Test-Signature FOUND" if EICAR in seen else b"stream: OK"
    writer.write(verdict + b"\0")
    await writer.drain()
    writer.close()


@pytest.fixture
async def clamd() -> AsyncIterator[str]:
    server = await asyncio.start_server(_clamd_peer, "127.0.0.1", PORT)
    try:
        yield f"tcp://127.0.0.1:{PORT}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def archive_settings_overrides() -> dict[str, Any]:
    return {"archive_clamd": f"tcp://127.0.0.1:{PORT}"}


async def test_infected_uploads_are_refused_and_audited(archive: Archive, clamd: str) -> None:
    record_id = await archive.new_product("SCAN-1")
    clean = await archive.upload(record_id, pdf_bytes())
    assert clean.status_code == 201, clean.text

    refused = await archive.upload(record_id, EICAR + b"\n", name="transcript.txt",
                                   media_type="text/plain", role="transcript")
    body = assert_problem(refused, 422)
    assert body["signature"] == "Eicar-Test-Signature"
    assert len(archive.objects()) == 1 and archive.parts() == []
    async with archive.hub.db.session() as session:
        entries = list((await session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "files.infected"))).scalars())
    assert [(e.outcome, e.agency, e.target) for e in entries][-1] == (
        "refused", "G16", record_id)
    assert entries[-1].details["signature"] == "Eicar-Test-Signature"


async def test_scanner_down_is_503_and_stores_nothing(archive: Archive) -> None:
    record_id = await archive.new_product("SCAN-2")  # no peer listening on PORT
    assert_problem(await archive.upload(record_id, pdf_bytes()), 503)
    assert archive.objects() == [] and archive.parts() == []
