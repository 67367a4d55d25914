"""Bulk inserts of rows known to be new: COPY on PostgreSQL, executemany elsewhere.

The ingest pipeline decides under the change-feed lock which records are new, so their rows
cannot conflict: PostgreSQL's binary COPY (through asyncpg, on the transaction's own
connection) writes them 2-3x faster than an executemany of INSERTs.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession


def _json_columns(table: sa.Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, sa.JSON))


async def bulk_insert(session: AsyncSession, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await session.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    json_columns = _json_columns(table)
    # SQLAlchemy's asyncpg codec for jsonb takes JSON text; None stays SQL NULL.
    records = [
        tuple(
            orjson.dumps(row[c]).decode() if c in json_columns and row[c] is not None else row[c]
            for c in columns
        )
        for row in rows
    ]
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=records, columns=columns
    )
