"""The hash-chained audit log (issue 3, item 7), on SQLite and PostgreSQL: every write and every
refused write leaves an entry in the same transaction; `rightshub audit verify` passes on an
honest database and names the first changed, removed or truncated entry otherwise."""

from __future__ import annotations

import asyncio
import functools
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub import Hub, Principal, verify_audit
from hub._audit import GENESIS_HASH
from hub.tables import AuditEntry
from tests._cli import Done, run_cli
from tests.api import _helpers as helpers
from tests.conftest import auth
from tests.integration import REPO, RIGHTSHUB, child_env

pytestmark = pytest.mark.anyio


def product(source_id: str, title: str = "Sách quyền con người") -> dict[str, Any]:
    return helpers.product(source_id, title=title)


async def _reset_chain(hub: Hub) -> None:
    async with hub.db.transaction() as session:
        await session.execute(sa.text("DELETE FROM audit_log"))
        await session.execute(
            sa.text("UPDATE hub_locks SET last_seq = 0, head_hash = :genesis WHERE name = 'audit'"),
            {"genesis": GENESIS_HASH},
        )


@pytest.fixture
async def audited(hub: Hub) -> AsyncIterator[Hub]:
    """A hub whose audit chain starts empty, and is emptied again afterwards (tampering tests
    must not leave a broken chain for the rest of the session)."""
    await _reset_chain(hub)
    yield hub
    await _reset_chain(hub)


async def _entries(hub: Hub) -> list[dict[str, Any]]:
    async with hub.db.session() as session:
        rows = await session.execute(
            sa.select(
                AuditEntry.seq, AuditEntry.actor, AuditEntry.agency, AuditEntry.action,
                AuditEntry.target, AuditEntry.request_id, AuditEntry.outcome, AuditEntry.details,
            ).order_by(AuditEntry.seq)
        )
        return [dict(r._mapping) for r in rows]


async def _verify(hub: Hub) -> Any:
    async with hub.db.session() as session:
        return await verify_audit(session)


async def _write_some(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/products:batch",
        json={"records": [product("a-1"), product("a-2"), product("a-3")]},
        headers={**auth("g16"), "X-Request-ID": "req-batch-1"},
    )
    assert response.status_code == 200, response.text
    response = await client.put(
        "/v1/products/a-1", json=product("a-1", "Tên mới"),
        headers={**auth("g16"), "X-Request-ID": "req-put-1"},
    )
    assert response.status_code == 200, response.text
    response = await client.delete(
        "/v1/products/a-2", headers={**auth("g16"), "X-Request-ID": "req-del-1"}
    )
    assert response.status_code == 204, response.text


async def test_honest_chain_verifies_after_batches_puts_deletes(
    audited: Hub, client: httpx.AsyncClient
) -> None:
    await _write_some(client)
    entries = await _entries(audited)
    assert [e["action"] for e in entries] == ["records.batch", "records.put", "records.delete"]
    assert [e["request_id"] for e in entries] == ["req-batch-1", "req-put-1", "req-del-1"]
    assert all(e["outcome"] == "ok" and e["actor"] == "client-g16" for e in entries)
    assert all(e["agency"] == "G16" for e in entries)
    assert entries[0]["details"]["created"] == 3
    assert entries[0]["details"]["batch_id"]
    assert entries[1]["target"] == "products/a-1"
    assert entries[2]["details"]["deleted"] == 1
    report = await _verify(audited)
    assert report.ok, report.summary()
    assert report.entries == 3 and report.head_seq == 3


async def test_denied_writes_are_audited(audited: Hub, client: httpx.AsyncClient) -> None:
    forbidden = await client.post(
        "/v1/products:batch", json={"records": [product("x-1")]},
        headers={**auth("reader"), "X-Request-ID": "req-denied-1"},
    )
    assert forbidden.status_code == 403
    anonymous = await client.delete("/v1/products/x-1")
    assert anonymous.status_code == 401
    # Reads are not writes: a refused read leaves no entry.
    assert (await client.get("/v1/products")).status_code == 401
    entries = await _entries(audited)
    assert [(e["actor"], e["action"], e["outcome"]) for e in entries] == [
        ("client-reader", "records.batch", "denied"),
        ("anonymous", "records.delete", "denied"),
    ]
    assert entries[0]["request_id"] == "req-denied-1"
    assert entries[0]["details"]["status"] == 403
    assert entries[0]["agency"] == "G08"
    assert (await _verify(audited)).ok


TAMPERING = {
    "update a field": (
        "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2", 2, "does not match its hash"
    ),
    "update details": (
        "UPDATE audit_log SET outcome = 'denied' WHERE seq = 1", 1, "does not match its hash"
    ),
    "delete a middle row": ("DELETE FROM audit_log WHERE seq = 2", 2, "missing"),
    "delete the last row": ("DELETE FROM audit_log WHERE seq = 3", 3, "removed from the end"),
}


def _cli_verify(database_url: str, *, process: bool = False) -> Done:
    """``rightshub audit verify``: in this process (tests/_cli.py), or as the installed
    executable with ``process`` (once per backend: the entry point)."""
    env = child_env(database_url=database_url, environment="test")
    if not process:
        return run_cli(["audit", "verify"], cwd=REPO, env=env)
    done = subprocess.run(
        [RIGHTSHUB, "audit", "verify"], cwd=REPO, env=env,
        capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
    )
    return Done(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("case", list(TAMPERING))
async def test_tampering_is_detected(
    audited: Hub, client: httpx.AsyncClient, database_url: str, case: str
) -> None:
    await _write_some(client)
    honest = await asyncio.to_thread(functools.partial(
        _cli_verify, database_url, process=case == next(iter(TAMPERING))))
    assert honest.returncode == 0, honest.stdout + honest.stderr
    assert "3 entries" in honest.stdout

    statement, broken_seq, reason = TAMPERING[case]
    async with audited.db.transaction() as session:
        await session.execute(sa.text(statement))
    report = await _verify(audited)
    assert not report.ok
    assert report.broken_seq == broken_seq, report.summary()
    assert reason in (report.reason or "")

    run = await asyncio.to_thread(_cli_verify, database_url)
    assert run.returncode != 0
    assert f"seq {broken_seq}" in run.stdout, run.stdout + run.stderr


async def test_rewritten_entry_with_recomputed_hash_breaks_the_next_link(
    audited: Hub, client: httpx.AsyncClient
) -> None:
    """A forger who recomputes the changed entry's own hash still breaks the next entry's
    prev_hash link."""
    await _write_some(client)
    async with audited.db.transaction() as session:
        await session.execute(sa.text(
            "UPDATE audit_log SET entry_hash = :forged WHERE seq = 1"), {"forged": "f" * 64})
    report = await _verify(audited)
    assert not report.ok and report.broken_seq == 1


async def test_concurrent_writers_produce_a_valid_chain(audited: Hub) -> None:
    callers = [Principal(f"client-{a}", a, frozenset({"records:write"}))
               for a in ("G16", "G15", "08", "02")]

    async def writer(principal: Principal, n: int) -> None:
        for i in range(n):
            await audited.ingest.ingest(
                principal, "products", [product(f"c-{principal.agency}-{i}")],
                batch_id=f"b-{principal.agency}-{i}",
            )

    await asyncio.gather(*(writer(p, 5) for p in callers))
    report = await _verify(audited)
    assert report.ok, report.summary()
    assert report.entries == 20
    entries = await _entries(audited)
    assert [e["seq"] for e in entries] == list(range(1, 21))
    assert {e["request_id"] for e in entries} == {None}
