"""Test fixtures: every API test runs on SQLite and on PostgreSQL, against the real database
migrated by Alembic and the real app (in process through ASGI, or on loopback via uvicorn).

PostgreSQL: ``RIGHTSHUB_TEST_DATABASE_URL`` (a server URL; each run creates and drops its
own database) or the local server at 127.0.0.1:5432. When it is unreachable the PostgreSQL
half is skipped, unless ``RIGHTSHUB_REQUIRE_POSTGRES=1`` (CI), where that is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from gateway import create_app
from hub import DevPrincipal, Hub, Settings
from hub._migrate import upgrade
from hub._seed import seed_reference

PG_SERVER = os.environ.get(
    "RIGHTSHUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("RIGHTSHUB_REQUIRE_POSTGRES") == "1"

# Test callers: token -> (agency, client, scopes).
ALL = ["records:read", "records:write", "changes:read"]
CALLERS = {
    "g16": ("G16", "client-g16", ALL),
    "g15": ("G15", "client-g15", ALL),
    "tq": ("08", "client-tuyen-quang", ALL),
    "hg": ("02", "client-ha-giang", ALL),
    "reader": ("G08", "client-reader", ["records:read", "changes:read"]),
}


def token(name: str) -> str:
    return f"test-token-{name}-0123456789abcdef"


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(name)}"}


def _dev_principals() -> list[DevPrincipal]:
    return [
        DevPrincipal(token=token(name), agency=agency, client_id=client, scopes=scopes)
        for name, (agency, client, scopes) in CALLERS.items()
    ]


def _pg_admin_url() -> str:
    return PG_SERVER.replace("postgresql+asyncpg://", "postgresql://")


def _create_pg_database() -> str | None:
    import psycopg

    name = f"rightshub_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(_pg_admin_url(), autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    base = _pg_admin_url().rsplit("/", 1)[0]
    return f"{base}/{name}"


def _drop_pg_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_pg_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def new_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new migrated, seeded database of ``backend`` ("sqlite" or "postgresql"; skipped when
    PostgreSQL is unreachable), dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub.db'}"
    else:
        created = _create_pg_database()
        if created is None:
            if REQUIRE_PG:
                pytest.fail(f"PostgreSQL is required (RIGHTSHUB_REQUIRE_POSTGRES=1) but "
                            f"{PG_SERVER} is unreachable")
            pytest.skip(f"PostgreSQL unreachable at {PG_SERVER}")
        url = created
    settings = Settings(database_url=url, environment="test")
    upgrade(settings)
    asyncio.run(_seed(settings))
    try:
        yield url
    finally:
        if backend == "postgresql":
            _drop_pg_database(url)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, seeded database for the whole session, one per backend."""
    with new_database(request.param, tmp_path_factory) as url:
        yield url


async def _seed(settings: Settings) -> None:
    hub = Hub(settings)
    try:
        await seed_reference(hub.db)
    finally:
        await hub.close()


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "dev_principals": _dev_principals(),
        # Generous on purpose: the suite must never be throttled (tests/security sets small ones).
        "rate_limit_client": "100000/minute",
        "rate_limit_ip": "100000/minute",
        "rate_limit_storage": "memory://",
        # A login delay far longer than any pause between two calls of one test: on a loaded
        # machine an argon2 check can take over a second, and a 1 s wait would be over before
        # the test looks (tests/security/test_login_throttle.py sets short ones to see it end).
        "admin_login_first_delay_seconds": 60,
        # Test systems (simulators, subscribers) listen on loopback only; the guard's own
        # tests (tests/security/test_outbound*.py) set their own allow-lists.
        "outbound_allow": ["127.0.0.0/8", "::1/128"],
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


# record_files before records (foreign key); stored_files rows may outlive a test: a blob
# whose bytes are missing from a later test's storage is simply stored again.
_DATA_TABLES = ("record_files", "file_uploads", "record_facets", "record_changes", "records",
                "idempotency_keys")


async def _clean(hub: Hub) -> None:
    async with hub.db.transaction() as session:
        for table in _DATA_TABLES:
            await session.execute(sa.text(f"DELETE FROM {table}"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def hub(database_url: str) -> AsyncIterator[Hub]:
    hub = Hub(make_settings(database_url))
    await _clean(hub)
    try:
        yield hub
    finally:
        await hub.close()


# One app per database for the whole session: building one (every route's dependencies, the
# GraphQL schema) takes 0.2-0.3 s, paid by hundreds of tests otherwise. Routes find the hub in
# ``app.state``, set per test; the settings are the same for every ``hub`` of a database.
_APPS: dict[str, FastAPI] = {}


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    app = _APPS.get(hub.settings.database_url)
    if app is None:
        app = _APPS[hub.settings.database_url] = create_app(hub.settings, hub=hub)
    app.state.hub = hub  # ASGITransport does not run the lifespan
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


@pytest.fixture
def backend(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


FIXTURES = Path(__file__).parent / "fixtures"


_BROWSER_FILES: dict[str, bool] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Markers for the inner loop (``make test-fast`` leaves these out): ``pg`` on every test
    run against PostgreSQL (a ``postgresql`` parameter), ``browser`` on the Chromium tests,
    ``faults`` on tests/faults (they restart or kill real servers). ``slow`` is set by hand."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgresql" in callspec.params.values():
            item.add_marker(pytest.mark.pg)
        path = str(item.path)
        if "/tests/faults/" in path:
            item.add_marker(pytest.mark.faults)
        if path not in _BROWSER_FILES:
            _BROWSER_FILES[path] = "playwright" in item.path.read_text(errors="replace")
        if _BROWSER_FILES[path]:
            item.add_marker(pytest.mark.browser)

