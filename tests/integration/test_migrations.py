"""Alembic migrations round-trip on SQLite and PostgreSQL, each on a database of its own:
upgrade to head, downgrade to base, upgrade again; the result matches the table models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hub import Settings
from hub._migrate import alembic_config, head_revision, upgrade
from hub.tables import Base
from tests.conftest import PG_SERVER, REQUIRE_PG, _create_pg_database, _drop_pg_database

TRGM = {"ix_records_search_trgm", "ix_records_title_trgm", "ix_records_title_pairs"}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
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


def sync_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def inspect(url: str) -> tuple[set[str], str | None, list[object]]:
    """(tables, alembic revision, differences between the database and the models)."""
    engine = sa.create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            revision = context.get_current_revision()
            diff = compare_metadata(context, Base.metadata) if revision else []
            # The search indexes (trigrams, word pairs) are PostgreSQL-only, made in SQL.
            diff = [d for d in diff if not (d[0] == "remove_index" and d[1].name in TRGM)]
            return tables, revision, diff
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(fresh_database: str) -> None:
    settings = Settings(database_url=fresh_database, environment="test")
    head = head_revision(settings)
    model_tables = set(Base.metadata.tables)

    upgrade(settings)
    tables, revision, diff = inspect(fresh_database)
    assert revision == head
    assert model_tables <= tables
    assert diff == [], f"migrations and models differ: {diff}"

    command.downgrade(alembic_config(settings), "base")
    tables, revision, _ = inspect(fresh_database)
    assert revision is None
    assert tables <= {"alembic_version"}, f"left behind by downgrade: {tables}"

    upgrade(settings)
    tables, revision, diff = inspect(fresh_database)
    assert revision == head and model_tables <= tables and diff == []
    engine = sa.create_engine(sync_url(fresh_database))
    try:
        with engine.connect() as connection:
            # The lock rows (change feed, audit chain head) are data the migrations write.
            locks = connection.execute(
                sa.text("SELECT name, last_seq FROM hub_locks ORDER BY name")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in locks] == [("audit", 0), ("audit_v1", 0), ("change_feed", 0)]
