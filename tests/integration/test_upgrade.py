"""``rightshub db upgrade`` on a database made by the previous release, with data in it: it
lists what it will apply (``--dry-run`` applies nothing), applies it, and the data survives;
a database migrated by a newer release (a revision this code does not ship) is refused with
exit code 3 and left as it was. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_SERVER, REQUIRE_PG
from tests.integration import REPO, RIGHTSHUB, child_env
from tests.integration.test_cli import Run

HEAD = sorted(p.name[:4] for p in (REPO / "hub" / "migrations" / "versions").glob("0*.py"))
PREVIOUS, NEWEST = HEAD[-2], HEAD[-1]


def rightshub(*args: str, url: str, cwd: Path) -> Run:
    import subprocess

    result = subprocess.run([RIGHTSHUB, *args], cwd=cwd, env=child_env(database_url=url),
                            capture_output=True, text=True, encoding="utf-8", timeout=120,
                            check=False)
    return Run(result.returncode, result.stdout + result.stderr)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    import psycopg

    admin = PG_SERVER.replace("postgresql+asyncpg://", "postgresql://")
    name = f"rightshub_upgrade_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        if REQUIRE_PG:
            raise
        pytest.skip("PostgreSQL unreachable")
    base = admin.rsplit("/", 1)[0]
    yield f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sync(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg"))


def _revision(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("select version_num from alembic_version")).scalar())


def test_upgrade_from_the_previous_release_keeps_the_data(empty_url: str, tmp_path: Path) -> None:
    made = rightshub("db", "upgrade", PREVIOUS, url=empty_url, cwd=tmp_path)
    assert made.code == 0, made.out
    engine = _sync(empty_url)
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with engine.begin() as conn:  # what the previous release would have stored
        conn.execute(sa.text(
            "insert into agencies (code, name, kind, level, valid_from, created_at) values "
            "('UP1', 'Sở Văn hoá thử', 'province', 'provincial', '2025-07-01', :now)"),
            {"now": now})
        conn.execute(sa.text(
            "insert into records (id, record_type, owner_agency, source_id, kind, version, "
            "content_hash, visibility, deleted, title, title_folded, search_text, data, "
            "provenance, created_at, updated_at, seq) values ('0190a0a0-0000-7000-8000-"
            "000000000001', 'products', 'UP1', 'UP-1', 'book', 1, 'h1', 'shared', false, "
            "'Sổ tay quyền con người', 'so tay quyen con nguoi', 'so tay', "
            "'{\"title\": \"Sổ tay quyền con người\"}', '{}', :now, :now, 1)"), {"now": now})
    planned = rightshub("db", "upgrade", "--dry-run", url=empty_url, cwd=tmp_path)
    assert planned.code == 0, planned.out
    assert NEWEST in planned.out and "nothing changed" in planned.out
    assert _revision(engine) == PREVIOUS  # --dry-run applied nothing

    upgraded = rightshub("db", "upgrade", url=empty_url, cwd=tmp_path)
    assert upgraded.code == 0, upgraded.out
    assert f"{NEWEST}" in upgraded.out and "will apply 1 migration" in upgraded.out
    assert _revision(engine) == NEWEST
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "select r.title, a.name from records r join agencies a on a.code = r.owner_agency "
            "where r.source_id = 'UP-1'")).one()
    assert tuple(row) == ("Sổ tay quyền con người", "Sở Văn hoá thử")
    again = rightshub("db", "upgrade", url=empty_url, cwd=tmp_path)
    assert again.code == 0 and "nothing to apply" in again.out
    engine.dispose()


def test_a_newer_schema_is_refused_and_left_alone(empty_url: str, tmp_path: Path) -> None:
    assert rightshub("db", "upgrade", url=empty_url, cwd=tmp_path).code == 0
    engine = _sync(empty_url)
    with engine.begin() as conn:
        conn.execute(sa.text("update alembic_version set version_num = '0999'"))
    refused = rightshub("db", "upgrade", url=empty_url, cwd=tmp_path)
    assert refused.code == 3, refused.out
    assert "0999" in refused.out and "refused" in refused.out
    assert _revision(engine) == "0999"
    engine.dispose()
