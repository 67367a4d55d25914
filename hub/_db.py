"""Engine and sessions for the central database (SQLite embedded default, or PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub._phrase import register_sqlite_functions
from hub._secret_key import audit_key, previous_audit_keys
from hub._settings import Settings
from hub.tables import HubLock

CHANGE_FEED_LOCK = "change_feed"
# Session.info key naming the Database that made the session (the audit writer finds its key).
DATABASE_INFO = "rightshub.database"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while one writer commits; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _json_dumps(value: Any) -> str:
    # orjson: several times faster than json.dumps on record data, and keeps text as UTF-8.
    return orjson.dumps(value).decode()


def create_engine(settings: Settings, *, command_timeout: float | None = 60) -> AsyncEngine:
    """The hub's engine. ``command_timeout`` bounds each PostgreSQL statement (requests fail
    fast rather than hang); migrations pass None, since building an index on millions of rows
    takes longer."""
    json_codec: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if settings.is_sqlite:
        path = settings.sqlite_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            settings.database_url, pool_size=5, max_overflow=5, **json_codec
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "connect", register_sqlite_functions)
        event.listen(engine.sync_engine, "handle_error", _drop_read_only_connections)
        return engine
    engine = create_async_engine(
        settings.database_url,
        **json_codec,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        # Fail fast rather than hang when PostgreSQL is down; /readyz reports it.
        connect_args={"timeout": 5, "command_timeout": command_timeout},
    )
    event.listen(engine.sync_engine, "handle_error", _drop_read_only_connections)
    event.listen(engine.sync_engine, "connect", _jsonb_from_bytes)
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _jsonb_decode(value: bytes) -> Any:
    # Binary jsonb is a version byte and the JSON text; orjson reads the bytes as they are.
    return orjson.loads(value[1:])


def _jsonb_encode(value: str) -> bytes:
    # As SQLAlchemy's: its JSON type has already serialised the value (``_json_dumps``).
    return b"\x01" + value.encode()


def _jsonb_from_bytes(dbapi_connection: Any, _record: Any) -> None:
    """Replace SQLAlchemy's jsonb codec (registered just before, on connect), which decodes
    every value to ``str`` before parsing it: parsing the bytes took 2.2 µs a product where
    the two steps took 3.7 µs, and a page of 50 reads 100 jsonb values."""
    dbapi_connection.run_async(lambda driver: driver.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_jsonb_encode, decoder=_jsonb_decode,
        format="binary"))


# Checkout checks a connection without a round trip when it was in use moments ago: asyncpg
# knows a connection the server closed (a restart, pg_terminate_backend) as soon as the
# event loop has read the close. One idle longer than this is pinged as well (a silent
# network loss). SQLAlchemy's pool_pre_ping pinged on every checkout, and on asyncpg its
# ping is three round trips (BEGIN, ";", ROLLBACK): ~5 % of a small GraphQL list's CPU
# (py-spy, bench/graphql).
PING_AFTER_IDLE_SECONDS = 2.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    if dbapi_connection.driver_connection.is_closed():
        raise sa.exc.DisconnectionError("the server closed the connection")
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is not None and time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.run_async(lambda driver: driver.fetchrow(";"))
    except Exception as error:
        # The pool discards this connection and checks out another (SQLAlchemy's documented
        # pessimistic disconnect handling), up to three times.
        raise sa.exc.DisconnectionError() from error


PG_READ_ONLY_TRANSACTION = "25006"


def _drop_read_only_connections(context: Any) -> None:
    # A connection opened while the database was read-only (PostgreSQL's
    # default_transaction_read_only or a standby; a SQLite file SQLite could only open for
    # reading) stays read-only once writes are possible again: treat the error as a
    # disconnect so the pool replaces its connections and the retried write gets a fresh one.
    # On PostgreSQL that is enough. On SQLite the process keeps its read-only view of the
    # file while any connection opened read-only is still open, and aiosqlite can leave the
    # dropped ones open: the hub is restarted after read-only storage (docs/exchange-api.md).
    error = context.original_exception
    if getattr(error, "sqlstate", None) == PG_READ_ONLY_TRANSACTION or str(
        getattr(error, "sqlite_errorname", "")
    ).startswith("SQLITE_READONLY"):
        context.is_disconnect = True


# PostgreSQL plans the batch's key lookup from table statistics; while a fresh table fills
# up faster than autovacuum re-analyses it, stale statistics ("the table is empty") make it
# scan an agency's whole index range for every batch. Re-analyse the lookup's columns after
# this many new rows, or when the table has grown by half since the last time.
ANALYZE_EVERY_ROWS = 20_000


class Database:
    """The engine and a session factory. Services receive sessions; only callers commit."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, info={DATABASE_INFO: self}
        )
        # The same engine and pool with reads in autocommit (see :meth:`read`).
        self.reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._read_sessions = async_sessionmaker(self.reads, expire_on_commit=False)
        self._read_gates: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
        self._audit_key: bytes | None = None
        self._inserted_since_analyze = 0
        self._rows_at_analyze = 0
        self._analyzing = False

    async def note_inserted(self, rows: int) -> None:
        """Keep the records table's statistics fresh during bulk loads (PostgreSQL only)."""
        if self.dialect != "postgresql":
            return
        # Rows are counted even while an ANALYZE runs (they used to be dropped, which kept the
        # threshold low and the table re-analysed too often under concurrent batches).
        self._inserted_since_analyze += rows
        threshold = max(ANALYZE_EVERY_ROWS // 20, min(ANALYZE_EVERY_ROWS,
                                                      self._rows_at_analyze // 2))
        if self._analyzing or self._inserted_since_analyze < threshold:
            return
        self._analyzing = True
        counted = self._inserted_since_analyze
        try:
            async with self.engine.connect() as connection:
                # The lookup's columns only: a whole-table ANALYZE also evaluates the word-pair
                # index's function on every sampled title (350 ms against 29 ms at 20,000
                # records); autovacuum still analyses the rest.
                await connection.execute(
                    sa.text("ANALYZE records (owner_agency, record_type, source_id)")
                )
                await connection.commit()
            self._rows_at_analyze += counted
            self._inserted_since_analyze -= counted
        finally:
            self._analyzing = False

    @property
    def audit_key(self) -> bytes:
        """The audit chain's HMAC key (derived from the secret key on first use)."""
        if self._audit_key is None:
            self._audit_key = audit_key(self.settings)
        return self._audit_key

    @property
    def previous_audit_keys(self) -> tuple[bytes, ...]:
        """Audit keys of a rotation in progress: entries under them still verify."""
        return previous_audit_keys(self.settings)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in autocommit for plain SELECTs of rows (REST and GraphQL lists,
        loaders). On PostgreSQL autocommit spares the BEGIN and ROLLBACK round trips around
        every SELECT, and no ORM session's bookkeeping runs: together with one files query per
        page, 2.0 against 1.24 ms of CPU for a REST page of 50 products (issue 20). Each
        statement sees the data committed when it starts, as it does in a READ COMMITTED
        transaction.

        At most the pool's size of these are open at once; the rest wait their turn. Beyond
        the pool, SQLAlchemy opens overflow connections and closes each when it is returned:
        at 64 concurrent requests the hub opened 10–15 PostgreSQL connections a second (a
        backend started and a TLS handshake tried for each). A reader holds one connection
        and never asks for another while holding it, so waiting here cannot deadlock."""
        async with self._read_gate(), self.reads.connect() as connection:
            yield connection

    def read_session(self) -> AsyncSession:
        """An ORM session in autocommit, for reads that load mapped objects (one statement
        each)."""
        return self._read_sessions()

    def _read_gate(self) -> asyncio.Semaphore:
        # One per event loop (a semaphore belongs to the loop that first waits on it).
        loop = asyncio.get_running_loop()
        gate = self._read_gates.get(loop)
        if gate is None:
            gate = self._read_gates[loop] = asyncio.Semaphore(self.settings.database_pool_size)
        return gate

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


async def take_change_feed_lock(session: AsyncSession) -> int:
    """Serialise writers until this transaction ends and return the last allocated ``seq``.

    On SQLite it takes the database write lock, so it must be the transaction's first write;
    on PostgreSQL a row lock, taken before the transaction reads the batch's current rows or
    writes anything that carries a ``seq`` (rows no other batch can touch, such as the
    facets of records it creates, may come first: ``hub._ingest``). Either way no other
    writer can allocate ``seq`` values until we commit, so ``seq`` order is commit order.
    """
    result = await session.execute(
        sa.update(HubLock)
        .where(HubLock.name == CHANGE_FEED_LOCK)
        .values(counter=HubLock.counter + 1)
        .returning(HubLock.last_seq)
    )
    last = result.scalar_one_or_none()
    if last is None:
        raise RuntimeError("hub_locks row missing: run `rightshub db upgrade`")
    return int(last)


async def release_seq(session: AsyncSession, last_seq: int) -> None:
    await session.execute(
        sa.update(HubLock).where(HubLock.name == CHANGE_FEED_LOCK).values(last_seq=last_seq)
    )
