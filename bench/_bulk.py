"""Bulk-generate N products straight into the hub's tables with COPY (records, record_changes,
record_facets), with realistic ``seq`` values (every record created once, one in ten updated
later), folded ``search_text``, several agencies and visibilities. Secondary indexes and
constraints are dropped during the load and rebuilt after it, as a bulk load would."""

from __future__ import annotations

import hashlib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg

import schemas
from bench._data import isbn13 as _isbn
from bench._data import product
from hub._prepare import prepare

POOL = 4000  # distinct prepared contents, reused with a per-record ISBN and source_id
RARE_EVERY = 2000  # one record in RARE_EVERY has "Điện Biên" in its title
RARE_TITLE = "Điện Biên"
UPDATED_EVERY = 10  # records with i % 10 == 3 get a second version later in the feed
TABLES = ("records", "record_changes", "record_facets")
START = datetime(2023, 1, 1, tzinfo=UTC)


def _pool() -> list[Any]:
    items = [product(i, prefix="POOL") for i in range(POOL)]
    for i in range(0, POOL, 97):  # a few private and public records among the shared ones
        items[i]["visibility"] = "private" if i % 2 else "public"
    prepared, rejections = prepare(
        schemas.RECORD_TYPES["products"], items, schemas.vocabulary_codes()
    )
    assert not rejections
    return prepared


def _esc(text: str) -> str:
    """COPY text format escaping."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace(
        "\r", "\\r")


def _agencies(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT code FROM agencies WHERE valid_until IS NULL ORDER BY code"
    ).fetchall()
    return [r[0] for r in rows]


def _saved_ddl(conn: psycopg.Connection[Any]) -> tuple[list[str], list[str], list[str]]:
    """(drop statements, index definitions, constraint definitions) of the three tables,
    with the foreign keys of other tables that point at them (dropped first, added last)."""
    drops: list[str] = []
    indexes: list[str] = []
    constraints: list[str] = []
    cons = conn.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype
           FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s)
              OR confrelid::regclass::text = ANY(%s)
           ORDER BY contype = 'f' DESC""", (list(TABLES), list(TABLES))
    ).fetchall()
    for table, name, _definition, _type in cons:
        drops.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for table, name, definition, _type in sorted(cons, key=lambda r: r[3] == "f"):
        constraints.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    idx = conn.execute(
        """SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)
           AND indexname NOT IN (SELECT conname FROM pg_constraint)""", (list(TABLES),)
    ).fetchall()
    for name, definition in idx:
        drops.append(f'DROP INDEX "{name}"')
        indexes.append(definition)
    return drops, indexes, constraints


def _build_indexes(url: str, indexes: list[str]) -> None:
    """Two at a time, GIN first: PostgreSQL builds a GIN index (the trigram and word-pair
    indexes, most of the build time) in one process, so on two cores two builds at once
    take about half as long as one after the other. CREATE INDEX locks the table in SHARE
    mode, which does not conflict with itself."""
    def build(statement: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '512MB'")
            conn.execute(statement)

    ordered = sorted(indexes, key=lambda d: "USING gin" not in d)
    with ThreadPoolExecutor(max_workers=2) as builders:
        list(builders.map(build, ordered))


def load(url: str, n: int, *, log: Any = print) -> dict[str, Any]:
    """Load ``n`` products owned by the seeded agencies into an empty migrated database."""
    t0 = time.perf_counter()
    pool = _pool()
    updates = n // UPDATED_EVERY + (1 if n % UPDATED_EVERY > 3 else 0)
    with psycopg.connect(url, autocommit=True) as conn:
        agencies = _agencies(conn)
        drops, indexes, constraints = _saved_ddl(conn)
        for statement in drops:
            conn.execute(statement)
        timings: dict[str, float] = {}
        t = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn2, conn.cursor() as cur, cur.copy(
            "COPY records (id, record_type, owner_agency, source_id, kind, version, "
            "content_hash, visibility, deleted, title, title_folded, search_text, primary_date, "
            "data, provenance, created_at, updated_at, seq) FROM STDIN"
        ) as rec, conn2.cursor() as cur2, cur2.copy(
            "COPY record_facets (record_id, facet, code) FROM STDIN"
        ) as fac:
            pending: list[str] = []
            pending_f: list[str] = []
            for i in range(n):
                p = pool[i % POOL]
                rid = str(uuid.UUID(bytes=hashlib.md5(i.to_bytes(8, "big")).digest()))
                isbn = _isbn(i)
                title = p.title
                folded = p.title_folded
                if i % RARE_EVERY == 7:
                    title = f"{RARE_TITLE}: {title}"
                    folded = f"dien bien: {folded}"
                search = f"{folded} {p.search_text} {isbn}"
                data = orjson.dumps({**p.data, "title": title, "isbn": isbn}).decode()
                created = START + timedelta(seconds=i)
                updated = i % UPDATED_EVERY == 3
                seq = n + i // UPDATED_EVERY + 1 if updated else i + 1
                version = 2 if updated else 1
                chash = hashlib.sha256(f"{i}-{version}".encode()).hexdigest()
                upd_at = START + timedelta(seconds=seq)
                prov = '{"channel": "push", "client": "bulk", "batch": null}'
                pending.append("\t".join((
                    rid, "products", agencies[i % len(agencies)], f"BULK-{i:08d}",
                    p.kind or "\\N", str(version), chash, p.visibility, "f", _esc(title),
                    _esc(folded), _esc(search),
                    p.primary_date.isoformat() if p.primary_date else "\\N", _esc(data), prov,
                    created.isoformat(), upd_at.isoformat(), str(seq),
                )))
                pending_f.extend(f"{rid}\t{f}\t{code}" for f, code in p.facets if f != "isbn")
                pending_f.append(f"{rid}\tisbn\t{isbn}")  # as the hub stores it (facets)
                if len(pending) >= 2000:
                    rec.write("\n".join(pending) + "\n")
                    fac.write("\n".join(pending_f) + "\n")
                    pending.clear()
                    pending_f.clear()
                if i and i % 1_000_000 == 0:
                    log(f"  records: {i:,} in {time.perf_counter() - t:.0f} s")
            if pending:
                rec.write("\n".join(pending) + "\n")
            if pending_f:
                fac.write("\n".join(pending_f) + "\n")
        timings["copy_records_facets_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        _copy_changes(conn, pool, agencies, n)
        timings["copy_changes_s"] = round(time.perf_counter() - t, 1)
        last_seq = n + updates
        conn.execute("UPDATE hub_locks SET last_seq = %s WHERE name = 'change_feed'", (last_seq,))
        t = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        for statement in constraints:  # B-trees, built by parallel workers
            conn.execute(statement)
        _build_indexes(url, indexes)
        timings["indexes_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        conn.execute("VACUUM ANALYZE records")
        conn.execute("VACUUM ANALYZE record_changes")
        conn.execute("VACUUM ANALYZE record_facets")
        timings["vacuum_analyze_s"] = round(time.perf_counter() - t, 1)
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    timings["total_s"] = round(time.perf_counter() - t0, 1)
    return {"records": n, "changes": last_seq, "last_seq": last_seq,
            "database_bytes": size[0] if size else None, **timings}


def _copy_changes(conn: psycopg.Connection[Any], pool: list[Any], agencies: list[str],
                  n: int) -> None:
    """Creation changes in seq order 1..n, then the updates n+1.. (one in UPDATED_EVERY)."""
    with conn.cursor() as cur, cur.copy(
        "COPY record_changes (seq, record_id, record_type, owner_agency, source_id, op, "
        "version, visibility, content_hash, data, provenance, changed_at) FROM STDIN"
    ) as copy:
        pending: list[str] = []
        prov = '{"channel": "push", "client": "bulk", "batch": null}'

        def emit(i: int, seq: int, version: int) -> None:
            p = pool[i % POOL]
            rid = str(uuid.UUID(bytes=hashlib.md5(i.to_bytes(8, "big")).digest()))
            title = f"{RARE_TITLE}: {p.title}" if i % RARE_EVERY == 7 else p.title
            data = orjson.dumps({**p.data, "title": title, "isbn": _isbn(i)}).decode()
            chash = hashlib.sha256(f"{i}-{version}".encode()).hexdigest()
            pending.append("\t".join((
                str(seq), rid, "products", agencies[i % len(agencies)], f"BULK-{i:08d}",
                "upsert", str(version), p.visibility, chash, _esc(data), prov,
                (START + timedelta(seconds=seq)).isoformat(),
            )))
            if len(pending) >= 2000:
                copy.write("\n".join(pending) + "\n")
                pending.clear()

        for i in range(n):
            emit(i, i + 1, 1)
        for i in range(3, n, UPDATED_EVERY):
            emit(i, n + i // UPDATED_EVERY + 1, 2)
        if pending:
            copy.write("\n".join(pending) + "\n")
