"""Plain SELECTs of rows straight through asyncpg, for the hottest reads (list pages).

SQLAlchemy's execution around one cached Core statement (execution context, parameter
construction, the adapted cursor, the greenlet hop, result metadata) cost 0.54 ms of CPU for
a page of 51 products where asyncpg's own ``fetch`` of the same SQL cost 0.32 ms (issue 20,
bench read). Here a statement is compiled once by SQLAlchemy, for the connection's dialect,
and then run by the driver with the same parameters and the same type processing on both
sides (the columns' own bind and result processors), so the rows are the values a Core
execution returns.

Only what this can run exactly goes this way: PostgreSQL, a statement without parameters
rendered at execution ("expanding" IN lists). Anything else, and any error, goes through
SQLAlchemy, whose error handling (disconnects, read-only databases) then applies as always.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters, in the order of $1, $2...
    static: dict[str, Any]  # values bound in the statement itself
    binds: tuple[Processor, ...]
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, processor) to apply
    row: Callable[..., Any]  # a named tuple of the selected columns' keys


_COMPILED: dict[tuple[int, str], tuple[sa.Select[Any], _Compiled | None]] = {}


def _compile(stmt: sa.Select[Any], dialect: sa.Dialect) -> _Compiled | None:
    compiled = stmt.compile(dialect=dialect)
    sql = str(compiled)
    if "POSTCOMPILE" in sql or compiled.positiontup is None:
        return None
    names = tuple(compiled.positiontup)
    binds = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in names)
    columns = list(stmt.selected_columns)
    results = []
    for index, column in enumerate(columns):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((index, process))
    row = namedtuple("Row", [column.key for column in columns])  # type: ignore[misc]
    return _Compiled(sql, names, dict(compiled.params), binds, tuple(results), row._make)


def _compiled(stmt: sa.Select[Any], dialect: sa.Dialect) -> _Compiled | None:
    # Statements are the callers' cached ones (hub._query): one compilation each, kept while
    # the statement object lives (the entry holds it, so its id cannot be reused meanwhile).
    key = (id(stmt), dialect.name)
    found = _COMPILED.get(key)
    if found is not None and found[0] is stmt:
        return found[1]
    if len(_COMPILED) > 4_000:  # bounded, as the statements' own caches are
        _COMPILED.clear()
    compiled = _compile(stmt, dialect)
    _COMPILED[key] = (stmt, compiled)
    return compiled


def dialect_name(session: AsyncSession | AsyncConnection) -> str:
    """``postgresql`` or ``sqlite``: the database a session or connection talks to."""
    if isinstance(session, AsyncConnection):
        return session.dialect.name
    return session.get_bind().dialect.name


async def fetch_rows(connection: AsyncSession | AsyncConnection, stmt: sa.Select[Any],
                     params: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of ``stmt`` with ``params``, read by position or by attribute: named tuples of
    its selected columns from the driver, or SQLAlchemy's rows (an ORM session, SQLite)."""
    if isinstance(connection, AsyncConnection) and connection.dialect.name == "postgresql":
        compiled = _compiled(stmt, connection.dialect)
        if compiled is not None:
            rows = await _through_driver(connection, compiled, params)
            if rows is not None:
                return rows
    return list(await connection.execute(stmt, params))


async def _through_driver(connection: AsyncConnection, compiled: _Compiled,
                          params: Mapping[str, Any]) -> list[Any] | None:
    """The rows from asyncpg itself; None when it failed (SQLAlchemy then runs the statement
    again, and reports the error as it always does)."""
    values = {**compiled.static, **params}
    args = [value if process is None else process(value)
            for value, process in zip([values[n] for n in compiled.names], compiled.binds,
                                      strict=True)]
    try:
        driver = (await connection.get_raw_connection()).driver_connection
        records = await driver.fetch(compiled.sql, *args)  # type: ignore[union-attr]
    except Exception:
        return None
    make, results = compiled.row, compiled.results
    if not results:
        return [make(record) for record in records]
    rows = []
    for record in records:
        values_of = list(record)
        for index, process in results:
            values_of[index] = process(values_of[index])
        rows.append(make(values_of))
    return rows
