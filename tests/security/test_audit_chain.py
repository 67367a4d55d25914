"""The keyed, anchored audit chain (issue 16, finding 8), on SQLite and PostgreSQL.

Whoever can write the tables but lacks the secret key cannot recompute an entry's hash (HMAC
under a key derived from it): a rewrite with plain SHA-256 fails ``audit verify``, and so does
relabelling entries as the old unkeyed kind. Whoever holds the database *and* the key can
rewrite the chain and its head so that ``audit verify`` passes, but not past a signed
checkpoint kept elsewhere: ``audit verify --checkpoint`` finds the rewrite and a truncation
below it, and refuses a checkpoint the hub's keys did not sign. The CLI runs in this process
(tests/_cli.py) against the session's migrated database.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey

import auth
from hub import Hub, Settings, audit_in_own_transaction, verify_audit
from hub._audit import (
    CHAIN_HMAC,
    CHAIN_SHA256,
    GENESIS_HASH,
    canonical_entry,
    entry_hash,
    hash_of,
)
from hub._migrate import upgrade_async
from hub.tables import AuditEntry, HubLock
from tests._cli import Done, run_cli
from tests.conftest import PG_SERVER, REQUIRE_PG, _create_pg_database, _drop_pg_database
from tests.integration import REPO, child_env

pytestmark = pytest.mark.anyio


async def _reset_chain(hub: Hub) -> None:
    async with hub.db.transaction() as session:
        await session.execute(sa.text("DELETE FROM audit_log"))
        await session.execute(
            sa.text("UPDATE hub_locks SET last_seq = 0, head_hash = :genesis WHERE name = 'audit'"),
            {"genesis": GENESIS_HASH},
        )


@pytest.fixture
async def audited(hub: Hub) -> AsyncIterator[Hub]:
    """Five honest entries on an empty chain; the chain is emptied again afterwards."""
    await _reset_chain(hub)
    for i in range(1, 6):
        await audit_in_own_transaction(
            hub.db, actor="operator", actor_kind="operator", agency="G16",
            action="test.event", target=f"things/{i}", details={"n": i, "tên": "Nhật ký"},
        )
    yield hub
    await _reset_chain(hub)


async def _verify(hub: Hub) -> object:
    async with hub.db.session() as session:
        return await verify_audit(session)


def _plain_sha256(entry: AuditEntry) -> str:
    """What a forger without the key computes: the old, unkeyed hash of the entry."""
    return entry_hash(
        entry.prev_hash,
        canonical_entry(
            seq=entry.seq, at=entry.at, actor=entry.actor, actor_kind=entry.actor_kind,
            agency=entry.agency, action=entry.action, target=entry.target,
            request_id=entry.request_id, outcome=entry.outcome, details=entry.details,
        ),
        version=CHAIN_SHA256,
    )


async def _rewrite(
    hub: Hub, seq: int, *, key: bytes | None, relabel_v1: bool = False
) -> None:
    """Change entry ``seq``'s actor, then recompute every hash from it on (plain SHA-256 when
    ``key`` is None, else the HMAC) and the head, as a forger who can write the tables."""
    async with hub.db.transaction() as session:
        entries = (await session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq))).all()
        prev = GENESIS_HASH
        for entry in entries:
            if entry.seq == seq:
                entry.actor = "forger"
            if entry.seq >= seq:
                if relabel_v1:
                    entry.chain_version = CHAIN_SHA256
                entry.prev_hash = prev
                entry.entry_hash = _plain_sha256(entry) if key is None else hash_of(entry, key)
            prev = entry.entry_hash
        await session.execute(
            sa.update(HubLock).where(HubLock.name == "audit").values(head_hash=prev)
        )


def _cli(database_url: str, *args: str) -> Done:
    """``rightshub audit ARGS`` in this process (tests/_cli.py); tests/security/test_audit.py
    runs ``audit verify`` as a real subprocess."""
    return run_cli(["audit", *args], cwd=REPO,
                   env=child_env(database_url=database_url, environment="test"))


async def _checkpoint(database_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "audit-checkpoint.jws"
    run = await asyncio.to_thread(_cli, database_url, "checkpoint", "--out", str(path))
    assert run.returncode == 0, run.stdout + run.stderr
    return path


async def _verify_cli(database_url: str, *args: str) -> Done:
    return await asyncio.to_thread(_cli, database_url, "verify", *args)


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _header(token: str) -> dict[str, object]:
    head = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))))


# --- Without the key ---------------------------------------------------------------------------


async def test_entries_are_keyed_not_plain_sha256(audited: Hub) -> None:
    async with audited.db.session() as session:
        entries = (await session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq))).all()
    assert [e.chain_version for e in entries] == [CHAIN_HMAC] * 5
    assert all(e.entry_hash != _plain_sha256(e) for e in entries)
    assert all(e.entry_hash == hash_of(e, audited.db.audit_key) for e in entries)
    report = await _verify(audited)
    assert report.ok, report.summary()  # type: ignore[attr-defined]


@pytest.mark.parametrize("relabel_v1", [False, True], ids=["keep-v2-label", "relabel-as-v1"])
async def test_rewrite_recomputed_with_plain_sha256_is_detected(
    audited: Hub, database_url: str, relabel_v1: bool
) -> None:
    await _rewrite(audited, 2, key=None, relabel_v1=relabel_v1)
    report = await _verify(audited)
    assert not report.ok and report.broken_seq == 2, report.summary()  # type: ignore[attr-defined]
    reason = report.reason or ""  # type: ignore[attr-defined]
    assert ("chain_version 1" if relabel_v1 else "does not match its hash") in reason
    run = await _verify_cli(database_url)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "BROKEN at seq 2" in run.stdout and "BỊ PHÁ VỠ tại seq 2" in run.stdout


async def test_moving_the_unkeyed_boundary_is_detected(audited: Hub) -> None:
    """To pass relabelled entries off as old ones the forger must move the sealed boundary."""
    await _rewrite(audited, 2, key=None, relabel_v1=True)
    async with audited.db.transaction() as session:
        await session.execute(sa.text("UPDATE hub_locks SET last_seq = 5 WHERE name = 'audit_v1'"))
    try:
        report = await _verify(audited)
        assert not report.ok, report.summary()  # type: ignore[attr-defined]
        assert "audit_v1" in (report.reason or "")  # type: ignore[attr-defined]
    finally:
        async with audited.db.transaction() as session:
            await session.execute(
                sa.text("UPDATE hub_locks SET last_seq = 0 WHERE name = 'audit_v1'")
            )


# --- With the key, after a checkpoint ----------------------------------------------------------


async def test_valid_chain_and_checkpoint_pass(
    audited: Hub, database_url: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    path = await _checkpoint(database_url, tmp_path)
    token = path.read_text().strip()
    header, claims = _header(token), _claims(token)
    assert header["typ"] == auth.CHECKPOINT_TYPE and header["alg"] in ("ES256", "RS256")
    assert isinstance(header["kid"], str)
    assert claims["audit_seq"] == 5 and claims["audit_count"] == 5
    assert claims["iss"] == audited.settings.issuer_url and isinstance(claims["iat"], int)
    async with audited.db.session() as session:
        head = await session.get(AuditEntry, 5)
    assert head is not None and claims["audit_hash"] == head.entry_hash

    # The chain goes on growing after the checkpoint: it still verifies against it.
    await audit_in_own_transaction(audited.db, actor="operator", actor_kind="operator",
                                   agency=None, action="test.later")
    run = await _verify_cli(database_url, "--checkpoint", str(path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "6 entries" in run.stdout and "checkpoint at seq 5 matches" in run.stdout

    # Against the published JWKS kept with the checkpoint, too.
    jwks = await client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200, jwks.text
    jwks_path = tmp_path / "jwks.json"
    jwks_path.write_text(jwks.text)
    run = await _verify_cli(database_url, "--checkpoint", str(path), "--jwks", str(jwks_path))
    assert run.returncode == 0, run.stdout + run.stderr


async def test_rewrite_with_the_key_after_a_checkpoint_is_detected(
    audited: Hub, database_url: str, tmp_path: Path
) -> None:
    path = await _checkpoint(database_url, tmp_path)
    await _rewrite(audited, 2, key=audited.db.audit_key)  # someone with the DB and the key
    plain = await _verify_cli(database_url)
    assert plain.returncode == 0, plain.stdout + plain.stderr  # what the checkpoint is for
    run = await _verify_cli(database_url, "--checkpoint", str(path))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "BROKEN at seq 5" in run.stdout
    assert "rewritten after the checkpoint" in run.stdout
    assert "viết lại sau điểm neo" in run.stdout


async def test_deleting_the_last_rows_after_a_checkpoint_is_detected(
    audited: Hub, database_url: str, tmp_path: Path
) -> None:
    path = await _checkpoint(database_url, tmp_path)
    async with audited.db.transaction() as session:
        third = await session.get(AuditEntry, 3)
        assert third is not None
        await session.execute(sa.text("DELETE FROM audit_log WHERE seq > 3"))
        await session.execute(
            sa.update(HubLock).where(HubLock.name == "audit")
            .values(last_seq=3, head_hash=third.entry_hash)
        )
    plain = await _verify_cli(database_url)
    assert plain.returncode == 0, plain.stdout + plain.stderr  # the head was moved back too
    run = await _verify_cli(database_url, "--checkpoint", str(path))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "BROKEN at seq 4" in run.stdout
    assert "removed after the checkpoint" in run.stdout


# --- Checkpoints the hub did not sign ----------------------------------------------------------


def _forge(token: str, *, kid: str | None = None, **changes: object) -> str:
    """The checkpoint's claims (changed as asked) signed by a key of the forger's own."""
    header = _header(token)
    claims = {**_claims(token), **changes}
    key = ECKey.generate_key("P-256", private=True)
    forged_header = {"alg": "ES256", "kid": kid or str(header["kid"]),
                     "typ": auth.CHECKPOINT_TYPE}
    return jwt.encode(forged_header, claims, key, algorithms=["ES256"])


@pytest.mark.parametrize("case", ["same-kid", "unknown-kid", "access-token-typ", "not-a-jws"])
async def test_checkpoint_signed_by_a_foreign_key_is_refused(
    audited: Hub, database_url: str, tmp_path: Path, case: str
) -> None:
    real = (await _checkpoint(database_url, tmp_path)).read_text().strip()
    forged_path = tmp_path / "forged.jws"
    if case == "same-kid":
        forged = _forge(real, audit_seq=3)
    elif case == "unknown-kid":
        forged = _forge(real, kid="20260101-deadbeef")
    elif case == "access-token-typ":
        parts = real.split(".")
        head = {**_header(real), "typ": "at+jwt"}
        parts[0] = base64.urlsafe_b64encode(orjson.dumps(head)).decode().rstrip("=")
        forged = ".".join(parts)
    else:
        forged = "not a checkpoint"
    forged_path.write_text(forged)
    run = await _verify_cli(database_url, "--checkpoint", str(forged_path))
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Checkpoint refused" in run.stdout and "Điểm neo bị từ chối" in run.stdout
    # The hub's own key set given explicitly refuses it as well.
    if case == "same-kid":
        jwks_path = tmp_path / "jwks.json"
        jwks_path.write_text(json.dumps({"keys": []}))
        run = await _verify_cli(database_url, "--checkpoint", str(forged_path),
                                "--jwks", str(jwks_path))
        assert run.returncode == 1 and "Checkpoint refused" in run.stdout


async def test_checkpoint_refused_in_process(audited: Hub) -> None:
    """The library call: a foreign signature raises the bilingual InvalidInput."""
    from hub import InvalidInput

    _report, token = await auth.create_audit_checkpoint(audited)
    assert token is not None
    report = await auth.verify_audit_checkpoint(audited, token)
    assert report.ok, report.summary()
    with pytest.raises(InvalidInput) as refused:
        await auth.verify_audit_checkpoint(audited, _forge(token))
    assert "Checkpoint refused" in refused.value.detail_en
    assert "Điểm neo bị từ chối" in refused.value.detail_vi


async def test_no_checkpoint_of_a_broken_chain(audited: Hub, database_url: str) -> None:
    await _rewrite(audited, 4, key=None)
    run = await asyncio.to_thread(_cli, database_url, "checkpoint")
    assert run.returncode == 1
    assert run.stdout.strip() == ""  # no token
    assert "no checkpoint of a broken chain" in run.stderr


# --- Entries written before the key --------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chain.db'}"
        return
    url = _create_pg_database()
    if url is None:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but {PG_SERVER} is unreachable")
        pytest.skip(f"PostgreSQL unreachable at {PG_SERVER}")
    try:
        yield url
    finally:
        _drop_pg_database(url)


async def test_unkeyed_entries_from_before_the_migration_still_verify(
    fresh_database: str,
) -> None:
    settings = Settings(database_url=fresh_database, environment="test")
    await upgrade_async(settings, "0010")
    old = Hub(settings)
    try:  # three entries as the hub wrote them before 0011: plain SHA-256, no chain_version
        prev = GENESIS_HASH
        async with old.db.transaction() as session:
            for seq in (1, 2, 3):
                row = {
                    "seq": seq, "at": datetime(2026, 12, 1, 8, seq, 0, 123456, tzinfo=UTC),
                    "actor": "admin", "actor_kind": "admin", "agency": "G16",
                    "action": "admin.clients", "target": f"clients/{seq}", "request_id": None,
                    "outcome": "ok", "details": {"n": seq},
                }
                digest = entry_hash(prev, canonical_entry(**row), version=CHAIN_SHA256)
                await session.execute(sa.insert(AuditEntry.__table__).values(
                    **row, prev_hash=prev, entry_hash=digest))
                prev = digest
            await session.execute(sa.text(
                "UPDATE hub_locks SET last_seq = 3, head_hash = :h WHERE name = 'audit'"),
                {"h": prev})
    finally:
        await old.close()

    await upgrade_async(settings)
    hub = Hub(settings)
    try:
        for _ in range(2):
            await audit_in_own_transaction(hub.db, actor="operator", actor_kind="operator",
                                           agency=None, action="test.after")
        async with hub.db.session() as session:
            versions = (await session.scalars(
                sa.select(AuditEntry.chain_version).order_by(AuditEntry.seq))).all()
            boundary = (await session.execute(sa.text(
                "SELECT last_seq FROM hub_locks WHERE name = 'audit_v1'"))).scalar()
        assert list(versions) == [1, 1, 1, 2, 2] and boundary == 3
        report = await _verify(hub)
        assert report.ok and report.entries == 5, report.summary()  # type: ignore[attr-defined]

        # An old entry rewritten with plain SHA-256 changes every later hash; the first keyed
        # entry cannot follow without the key, nor pass as unkeyed after the sealed boundary.
        await _rewrite(hub, 2, key=None, relabel_v1=True)
        report = await _verify(hub)
        assert not report.ok and report.broken_seq == 4, report.summary()  # type: ignore[attr-defined]
        assert "chain_version 1" in (report.reason or "")  # type: ignore[attr-defined]
    finally:
        await hub.close()
