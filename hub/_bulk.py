"""Bulk inserts of rows known to be new: COPY on PostgreSQL, executemany elsewhere.

The ingest pipeline decides under the change-feed lock which records are new, so their rows
cannot conflict: PostgreSQL's binary COPY (through asyncpg, on the transaction's own
connection) writes them 2-3x faster than an executemany of INSERTs.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hub._db import PG_READ_ONLY_TRANSACTION


def _json_columns(table: sa.Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, sa.JSON))


async def bulk_insert(
    session: AsyncSession, table: sa.Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows``, each a sequence of values in the order of ``columns``."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await session.execute(table.insert(), [dict(zip(columns, row, strict=True))
                                               for row in rows])
        return
    json_columns = _json_columns(table)
    json_at = [i for i, column in enumerate(columns) if column in json_columns]
    records: Sequence[Sequence[Any]] = rows
    if json_at:
        # SQLAlchemy's asyncpg codec for jsonb takes JSON text (an orjson.Fragment, already
        # encoded, is copied as it is); None stays SQL NULL.
        encoded = []
        for row in rows:
            values = list(row)
            for i in json_at:
                if values[i] is not None:
                    values[i] = orjson.dumps(values[i]).decode()
            encoded.append(values)
        records = encoded
    raw = await connection.get_raw_connection()
    try:
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table.name, records=records, columns=columns
        )
    except Exception as exc:
        # The driver's COPY bypasses SQLAlchemy's error events, where the hub drops a pooled
        # connection found read-only (hub._db); it may be a transaction's first write, so
        # drop it here too, or the pool would hand it out read-only again and again.
        if getattr(exc, "sqlstate", None) == PG_READ_ONLY_TRANSACTION:
            await connection.invalidate(exc)
        raise


def as_rows(dicts: Sequence[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(columns, rows) of dicts that all have the keys of the first, in its order."""
    columns = list(dicts[0]) if dicts else []
    values_of = itemgetter(*columns)  # every table written here has several columns
    return columns, list(map(values_of, dicts))
