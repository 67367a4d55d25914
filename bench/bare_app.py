"""Bare FastAPI endpoints returning the same 50 rows as ``GET /v1/products?limit=50`` (same
columns, same order, orjson), one through asyncpg and one through a psycopg 3 async pool:
the ceiling of the read path on each driver. Database: ``BENCH_BARE_DATABASE_URL``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Response
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

URL = os.environ.get("BENCH_BARE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
QUERY = """SELECT id, record_type AS type, owner_agency, source_id, version, content_hash,
                  created_at, updated_at, deleted, visibility, provenance, data, seq
           FROM records
           WHERE record_type = 'products' AND deleted = false
             AND (owner_agency = 'G16' OR visibility IN ('shared', 'public'))
           ORDER BY seq DESC LIMIT 51"""
POOL_SIZE = 10
state: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state["asyncpg"] = await asyncpg.create_pool(
        URL, min_size=POOL_SIZE, max_size=POOL_SIZE, init=_jsonb
    )
    pool = AsyncConnectionPool(URL, min_size=POOL_SIZE, max_size=POOL_SIZE, open=False,
                               kwargs={"row_factory": dict_row})
    await pool.open(wait=True)
    state["psycopg"] = pool
    yield
    await state["asyncpg"].close()
    await pool.close()


app = FastAPI(lifespan=lifespan)


async def _jsonb(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=orjson.dumps, decoder=orjson.loads,
                              schema="pg_catalog", format="text")


def _page(rows: list[dict[str, Any]]) -> Response:
    items = []
    for row in rows[:50]:
        row = dict(row)
        row.pop("seq")
        items.append(row)
    cursor = str(rows[49]["seq"]) if len(rows) > 50 else None
    return Response(orjson.dumps({"items": items, "next_cursor": cursor}),
                    media_type="application/json")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/asyncpg")
async def via_asyncpg() -> Response:
    async with state["asyncpg"].acquire() as conn:
        rows = await conn.fetch(QUERY)
    return _page([dict(r) for r in rows])


@app.get("/psycopg")
async def via_psycopg() -> Response:
    async with state["psycopg"].connection() as conn:
        rows = await (await conn.execute(QUERY)).fetchall()
    return _page(rows)
