"""The ONE ingest pipeline: every way in (REST, GraphQL, pull connectors, file imports) calls it.

A batch goes through three steps:

1. *prepare* (no database): validate each item against the data standard, normalise text
   to NFC, check vocabulary codes and the agency and province codes against the dated
   registry (as of the record's primary date; ``hub._registry.CodeRegistry``), compute the
   content hash and the derived columns, a slice at a time so that the event loop keeps
   serving the batch that holds the lock;
2. *diff and write* (one transaction): on PostgreSQL, the facets of the records the batch
   will create first; then, under the change-feed lock, read the current rows of the
   batch's keys, decide created / updated / unchanged / deleted, write records, the other
   facets, change-log rows and the idempotency answer together. The lock's time is the
   ingest rate (docs/benchmarks.md, "Ingest"): write nothing under it that can be written
   before;
3. *summarise*: the same import summary for every caller.

Only content changes bump ``version``: an upsert of identical content is "unchanged" and
writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import schemas
from hub import _audit as audit
from hub import _changelog as changelog
from hub import _json_strict as json_strict
from hub._archive_db import detach_all
from hub._bulk import as_rows, bulk_insert
from hub._catalog import Catalog
from hub._db import Database, take_change_feed_lock
from hub._errors import Conflict, InvalidInput, PayloadTooLarge, PreconditionFailed
from hub._prepare import Prepared, PreparedBatch
from hub._principal import Principal
from hub._registry import CodeRegistry
from hub._summary import (
    IdempotencyMismatch,
    IdempotencyRequest,
    ImportSummary,
    Rejection,
    StoredAnswer,
)
from hub.tables import (
    IdempotencyKey,
    Record,
    RecordFacet,
    new_record_id,
    utcnow,
)

# Core tables for executemany writes: ORM-enabled bulk statements add work we do not need.
RECORDS: sa.Table = Record.__table__  # type: ignore[assignment]
FACETS: sa.Table = RecordFacet.__table__  # type: ignore[assignment]
FACET_COLUMNS = ("record_id", "facet", "code")

# Extra work of a caller inside the batch's write transaction (see ``IngestPipeline.ingest``).
InTransaction = Callable[[AsyncSession, ImportSummary], Awaitable[None]]

# Items validated between two turns of the event loop: ~1 ms of CPU for products.
PREPARE_SLICE = 10
KEY_CHUNK = 500  # keys per IN (...) query on SQLite: well under its parameter limit

# The status of an Idempotency-Key row an NDJSON stream holds while it is read (``claim``).
IN_PROGRESS = 0
CLAIM_STALE_SECONDS = 600


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(slots=True)
class _Current:
    id: str
    content_hash: str
    version: int
    deleted: bool
    created_at: datetime
    visibility: str
    # The record's owner: the caller's agency, or an agency it succeeded (inherited record).
    owner: str = ""


def batch_too_large(
    count: int, limit: int, *, hint: tuple[str, str] | None = None
) -> PayloadTooLarge:
    """The 413 problem of a batch of ``count`` items over ``limit``, with what the caller
    can do instead (``hint``: Vietnamese, English) when it knows."""
    vi = f"Một lô tối đa {limit} bản ghi; lô này có {count}."
    en = f"A batch holds at most {limit} records; this one has {count}."
    if hint is not None:
        vi, en = f"{vi} {hint[0]}", f"{en} {hint[1]}"
    return PayloadTooLarge(vi, en)


def etag_for(version: int, content_hash: str) -> str:
    """A strong ETag (RFC 9110 §8.8.3) from the version and content hash."""
    return f'"{version}-{content_hash[:20]}"'


def _matches(if_match: str, current: _Current | None) -> bool:
    """RFC 9110 §13.1.1: ``*`` matches any current representation; otherwise a listed tag."""
    if if_match.strip() == "*":
        return current is not None and not current.deleted
    if current is None:
        return False
    tags = {t.strip() for t in if_match.split(",")}
    return etag_for(current.version, current.content_hash) in tags


class IngestPipeline:
    def __init__(self, db: Database, catalog: Catalog) -> None:
        self._db = db
        self._catalog = catalog

    @property
    def max_batch(self) -> int:
        """The most items :meth:`ingest` takes at once (``max_batch_records``). The pipeline
        checks it, so every way in (REST, GraphQL, NDJSON, file imports, connectors, bundles)
        meets the same limit; callers that read more split it into batches of this size."""
        return self._db.settings.max_batch_records

    async def ingest(
        self,
        principal: Principal,
        record_type_name: str,
        items: Sequence[Any],
        *,
        dry_run: bool = False,
        batch_id: str | None = None,
        idempotency: IdempotencyRequest | None = None,
        if_match: str | None = None,
        atomic: bool = False,
        indexes: Sequence[int] | None = None,
        action: str = "records.batch",
        request_id: str | None = None,
        in_transaction: InTransaction | None = None,
        tombstone_unknown: bool = False,
    ) -> ImportSummary | StoredAnswer:
        """Ingest one batch for ``principal``'s agency, atomically.

        The batch is audited in the same transaction (``action``, e.g. "records.batch",
        "records.put", "records.delete"; ``request_id`` defaults to the logging context's).

        ``in_transaction`` runs inside the write transaction, after the batch's rows and
        before the audit entry, with the batch's summary: a pull connector commits its
        checkpoint there, atomically with the records it covers. Raising rolls the batch back.

        ``atomic``: all or nothing; when any item is rejected no record is written (the
        summary's ``ignored`` counts the valid ones, its status is "rejected").

        ``tombstone_unknown``: a delete for a key the hub has no record of writes a tombstone
        (a deleted record with no content, and its ``delete`` change) instead of a
        ``not_found`` rejection. A pull connector asks for it: a source that flags a record
        as deleted before the hub ever saw it still has the hub remember the deletion, so
        peers following the change feed learn it and the key's history starts there.

        Returns the stored first answer instead when ``idempotency`` names a key that was
        already used with the same request. ``indexes`` gives each item's position in the
        caller's whole input (a file, a stream), for the summary's rejections.

        A batch of more than :attr:`max_batch` items is refused (413, ``batch_too_large``).
        """
        if len(items) > self.max_batch:
            raise batch_too_large(len(items), self.max_batch)
        record_type = schemas.RECORD_TYPES[record_type_name]
        graph = await self._catalog.agencies()
        if not graph.exists(principal.agency):
            raise InvalidInput(
                f"Cơ quan {principal.agency} không có trong danh mục.",
                f"Agency {principal.agency} is not in the registry.",
            )
        vocabularies = await self._catalog.vocabulary_codes()
        registry = await self._catalog.registry()
        prepared, rejections = await _prepare(record_type, items, vocabularies, indexes,
                                              registry)
        summary = ImportSummary(dry_run=dry_run, rejections=rejections, rejected=0)
        inherited = graph.rolled_up(principal.agency) - {principal.agency}
        if dry_run:
            async with self._db.session() as session:
                current = await self._current(
                    session, principal.agency, record_type.name, prepared, inherited=inherited
                )
            self._diff(summary, prepared, current, if_match=if_match,
                       tombstone_unknown=tombstone_unknown)
            summary.rejected = len({r.index for r in summary.rejections})
            if atomic:
                summary.make_atomic()
            return summary
        if idempotency is not None:
            async with self._db.session() as session:
                stored = await self._stored_answer(session, principal, idempotency)
            if stored is not None:
                return stored
        async with self._db.transaction() as session:
            ahead = await self._facets_ahead(
                session, principal.agency, record_type.name, prepared, inherited
            )
            seqs = await changelog.lock(session)
            if idempotency is not None:
                # Checked again under the lock: a concurrent retry may have just committed.
                stored = await self._stored_answer(session, principal, idempotency)
                if stored is not None:
                    await _drop_facets(session, list(ahead.values()))
                    return stored
            current = await self._current(
                session, principal.agency, record_type.name, prepared, inherited=inherited
            )
            writes = self._diff(summary, prepared, current, if_match=if_match,
                                tombstone_unknown=tombstone_unknown)
            summary.rejected = len({r.index for r in summary.rejections})
            if atomic and summary.rejections:
                summary.make_atomic()
                writes = []
            if writes:
                await self._write(
                    session, principal, record_type.name, writes, current, seqs, batch_id,
                    ahead,
                )
                await seqs.release(session)
            # A key created by another batch since the look-up ahead became an update.
            await _drop_facets(session, list(ahead.values()))
            if idempotency is not None:
                session.add(
                    IdempotencyKey(
                        client_id=principal.client_id,
                        key=idempotency.key,
                        request_hash=idempotency.request_hash,
                        status_code=summary.http_status,
                        response=summary.as_dict(),
                        created_at=utcnow(),
                    )
                )
            if in_transaction is not None:
                await in_transaction(session, summary)
            await audit.append(
                session,
                actor=principal.client_id,
                actor_kind=principal.kind,
                agency=principal.agency,
                action=action,
                target=record_type.name if action == "records.batch" or len(prepared) != 1
                else f"{record_type.name}/{prepared[0].source_id}",
                request_id=request_id,
                outcome="ok",
                details={
                    "record_type": record_type.name, "batch_id": batch_id,
                    "channel": principal.channel, "created": summary.created,
                    "updated": summary.updated, "unchanged": summary.unchanged,
                    "deleted": summary.deleted, "rejected": summary.rejected,
                    "status": summary.status, "atomic": atomic,
                },
            )
        if summary.created:
            await self._db.note_inserted(summary.created)
        return summary

    async def replay(
        self, principal: Principal, idempotency: IdempotencyRequest
    ) -> StoredAnswer | None:
        """The first answer given under this key, for callers that ingest in several
        transactions (NDJSON streams) and remember the key only at the end."""
        async with self._db.session() as session:
            return await self._stored_answer(session, principal, idempotency)

    async def claim(self, principal: Principal, key: str) -> bool:
        """Hold ``key`` while a stream is read (an NDJSON stream is ingested in several
        transactions and knows its hash only at the end): False when another request holds
        it or already answered under it. A claim older than ``CLAIM_STALE_SECONDS`` was
        left by a process that died; it is taken over."""
        now = utcnow()
        try:
            async with self._db.transaction() as session:
                row = await session.get(IdempotencyKey, (principal.client_id, key))
                if row is not None:
                    stale = now - timedelta(seconds=CLAIM_STALE_SECONDS)
                    if row.status_code != IN_PROGRESS or _aware(row.created_at) > stale:
                        return False
                    row.created_at = now
                    return True
                session.add(IdempotencyKey(client_id=principal.client_id, key=key,
                                           request_hash="", status_code=IN_PROGRESS,
                                           response={}, created_at=now))
        except IntegrityError:  # a concurrent claim of the same key won
            return False
        return True

    async def release(self, principal: Principal, key: str) -> None:
        """Give up a claim (the stream failed): a retry runs as if for the first time."""
        async with self._db.transaction() as session:
            await session.execute(sa.delete(IdempotencyKey).where(
                IdempotencyKey.client_id == principal.client_id, IdempotencyKey.key == key,
                IdempotencyKey.status_code == IN_PROGRESS))

    async def key_in_use(self, principal: Principal, key: str) -> bool:
        """Whether ``key`` already holds an answer for this caller (NDJSON streams must read
        the whole body to know whether it is the same request)."""
        async with self._db.session() as session:
            return await session.get(IdempotencyKey, (principal.client_id, key)) is not None

    async def remember(
        self, principal: Principal, idempotency: IdempotencyRequest, summary: ImportSummary
    ) -> None:
        async with self._db.transaction() as session:
            await take_change_feed_lock(session)
            row = await session.get(IdempotencyKey, (principal.client_id, idempotency.key))
            if row is not None and row.status_code == IN_PROGRESS:  # our claim: the answer
                row.request_hash, row.status_code = idempotency.request_hash, summary.http_status
                row.response, row.created_at = summary.as_dict(), utcnow()
            elif row is None:
                session.add(
                    IdempotencyKey(
                        client_id=principal.client_id,
                        key=idempotency.key,
                        request_hash=idempotency.request_hash,
                        status_code=summary.http_status,
                        response=summary.as_dict(),
                        created_at=utcnow(),
                    )
                )

    async def _stored_answer(
        self, session: AsyncSession, principal: Principal, idem: IdempotencyRequest
    ) -> StoredAnswer | None:
        row = await session.get(IdempotencyKey, (principal.client_id, idem.key))
        if row is None:
            return None
        if row.status_code == IN_PROGRESS:
            raise Conflict(
                "Một yêu cầu khác với cùng Idempotency-Key đang được xử lý; hãy gửi lại sau "
                "khi nó kết thúc để nhận kết quả của nó.",
                "Another request with this Idempotency-Key is in progress; retry when it has "
                "finished to get its answer.",
            )
        if row.request_hash != idem.request_hash:
            raise IdempotencyMismatch(
                "Idempotency-Key này đã được dùng với một lô dữ liệu khác; hãy dùng khoá mới.",
                "This Idempotency-Key was used with a different batch; use a new key.",
            )
        return StoredAnswer(row.status_code, row.response)

    async def _facets_ahead(
        self,
        session: AsyncSession,
        agency: str,
        record_type: str,
        prepared: list[Prepared],
        inherited: frozenset[str],
    ) -> dict[str, str]:
        """Ids for the batch's records that do not exist yet, with their facets written now,
        before the change-feed lock (PostgreSQL); by source_id.

        Facets need no ``seq``, and rows under new ids conflict with nothing, so PostgreSQL
        writes them while another batch holds the lock: they were a fifth of a batch's time
        under it. ``_write`` takes the ids it uses out of the dict; the facets of the rest (a
        key another batch created meanwhile, read again under the lock) are deleted. SQLite
        has one writer at a time, so there is nothing to overlap: it writes them under the
        lock, as before."""
        upserts = [p for p in prepared if p.op == "upsert"]
        if self._db.dialect != "postgresql" or not upserts:
            return {}
        existing: set[str] = set()
        for statement in self._key_lookups(  # keys only: the unique index answers alone
            (RECORDS.c.source_id,), [agency, *sorted(inherited)], record_type,
            [p.source_id for p in upserts],
        ):
            existing.update((await session.execute(statement)).scalars())
        ahead = {p.source_id: new_record_id() for p in upserts if p.source_id not in existing}
        await bulk_insert(session, FACETS, FACET_COLUMNS, [
            (ahead[p.source_id], facet, code)
            for p in upserts if p.source_id in ahead for facet, code in p.facets
        ])
        return ahead

    def _key_lookups(
        self,
        columns: tuple[sa.ColumnElement[Any], ...],
        owners: list[str],
        record_type: str,
        keys: list[str],
    ) -> list[sa.Select[Any]]:
        """SELECTs of ``columns`` from the records of ``owners`` with these keys."""
        where = (RECORDS.c.owner_agency.in_(owners), RECORDS.c.record_type == record_type)
        if self._db.dialect == "postgresql":
            # One array parameter for all the keys: no list of placeholders to render, and
            # one statement whatever the batch's size.
            keys_param = sa.bindparam("keys", keys, type_=ARRAY(sa.String))
            return [sa.select(*columns).where(*where, RECORDS.c.source_id == sa.any_(keys_param))]
        return [
            sa.select(*columns).where(*where,
                                      RECORDS.c.source_id.in_(keys[start : start + KEY_CHUNK]))
            for start in range(0, len(keys), KEY_CHUNK)
        ]

    async def _current(
        self,
        session: AsyncSession,
        agency: str,
        record_type: str,
        prepared: list[Prepared],
        *,
        inherited: frozenset[str] = frozenset(),
    ) -> dict[str, _Current]:
        """The current rows of the batch's keys: ``agency``'s own record first; for a key it
        has no record of, the record of an agency it succeeded (``inherited``, see
        ``auth._policy``), the first owner in code order when several predecessors have one."""
        current: dict[str, _Current] = {}
        # One query for every owner (a round trip less under the change-feed lock); the
        # ranking picks the caller's own row, else the first predecessor in code order.
        rank = {owner: at for at, owner in enumerate([agency, *sorted(inherited)])}
        columns = RECORDS.c
        for statement in self._key_lookups(
            (columns.source_id, columns.id, columns.content_hash, columns.version,
             columns.deleted, columns.created_at, columns.visibility, columns.owner_agency),
            list(rank), record_type, [p.source_id for p in prepared],
        ):
            rows = await session.execute(statement)
            for source_id, id_, hash_, version, deleted, created, visibility, owner in rows:
                known = current.get(source_id)
                if known is None or rank[owner] < rank[known.owner]:
                    current[source_id] = _Current(
                        id_, hash_, version, deleted, created, visibility, owner
                    )
        return current

    def _diff(
        self,
        summary: ImportSummary,
        prepared: list[Prepared],
        current: dict[str, _Current],
        *,
        if_match: str | None,
        tombstone_unknown: bool = False,
    ) -> list[tuple[Prepared, str]]:
        """Decide what each item does; returns the items to write with their outcome."""
        writes: list[tuple[Prepared, str]] = []
        for item in prepared:
            now = current.get(item.source_id)
            if if_match is not None and not _matches(if_match, now):
                raise PreconditionFailed(
                    "Bản ghi đã bị thay đổi hoặc không tồn tại; "
                    "hãy đọc lại (ETag mới) rồi gửi lại.",
                    "The record changed or does not exist; read it again for a fresh ETag.",
                )
            if item.op == "delete":
                if now is None and tombstone_unknown:
                    summary.deleted += 1
                    writes.append((item, "tombstoned"))
                elif now is None:
                    summary.rejections.append(
                        Rejection(
                            item.index, item.source_id, "source_id", "not_found",
                            "Không có bản ghi với source_id này để xoá.",
                            "No record with this source_id to delete.",
                        )
                    )
                elif now.deleted:
                    summary.unchanged += 1
                else:
                    summary.deleted += 1
                    writes.append((item, "deleted"))
            elif now is None:
                summary.created += 1
                writes.append((item, "created"))
            elif not now.deleted and now.content_hash == item.content_hash:
                summary.unchanged += 1
            else:
                summary.updated += 1
                writes.append((item, "updated"))
        return writes

    async def _write(
        self,
        session: AsyncSession,
        principal: Principal,
        record_type: str,
        writes: list[tuple[Prepared, str]],
        current: dict[str, _Current],
        seqs: changelog.Seqs,
        batch_id: str | None,
        ahead: dict[str, str],
    ) -> None:
        """Write the batch's rows; a created record takes its id from ``ahead`` when its
        facets were written before the lock (``_facets_ahead``), and leaves there the ids it
        did not use."""
        now = utcnow()
        origin = changelog.Provenance(principal, batch_id)  # one encoding for the batch
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        deletes: list[dict[str, Any]] = []
        changes: list[changelog.Entry] = []
        facets: list[tuple[str, str, str]] = []
        touched: list[str] = []
        for item, outcome in writes:
            seq = seqs.take()
            existing = current.get(item.source_id)
            provenance = origin.of(item.source_updated_at)
            if outcome == "tombstoned":  # deleted before the hub ever had it
                record_id = new_record_id()
                inserts.append({
                    "id": record_id, "record_type": record_type,
                    "owner_agency": principal.agency, "source_id": item.source_id,
                    "kind": None, "content_hash": "", "visibility": item.visibility,
                    "deleted": True, "title": "", "title_folded": "", "search_text": "",
                    "primary_date": None, "data": orjson.Fragment(b"{}"),
                    "provenance": provenance, "updated_at": now, "seq": seq,
                    "version": 1, "created_at": now,
                })
                changes.append(changelog.entry(
                    seq=seq, record_id=record_id, record_type=record_type,
                    owner_agency=principal.agency, source_id=item.source_id,
                    op="delete", version=1, visibility=item.visibility,
                    previous_visibility=None, content_hash="", data=None,
                    provenance=provenance, changed_at=now,
                ))
                continue
            if outcome == "deleted":
                assert existing is not None
                version = existing.version + 1
                deletes.append({"b_id": existing.id, "version": version, "seq": seq,
                                "updated_at": now, "provenance": provenance})
                touched.append(existing.id)
                changes.append(changelog.entry(
                    seq=seq, record_id=existing.id, record_type=record_type,
                    owner_agency=existing.owner or principal.agency,
                    source_id=item.source_id, op="delete", version=version,
                    visibility=existing.visibility,
                    previous_visibility=existing.visibility,
                    content_hash=existing.content_hash, data=None,
                    provenance=provenance, changed_at=now,
                ))
                continue
            # An inherited record keeps its owner (auth._policy: successors write it).
            owner = existing.owner if existing and existing.owner else principal.agency
            version = 1 if existing is None else existing.version + 1
            row = {
                "record_type": record_type, "owner_agency": owner,
                "source_id": item.source_id, "kind": item.kind,
                "content_hash": item.content_hash, "visibility": item.visibility,
                "deleted": False, "title": item.title, "title_folded": item.title_folded,
                "search_text": item.search_text, "primary_date": item.primary_date,
                "data": item.data_json, "provenance": provenance, "updated_at": now,
                "seq": seq,
            }
            if existing is None:
                record_id = ahead.pop(item.source_id, "")
                if not record_id:
                    record_id = new_record_id()
                    facets.extend((record_id, facet, code) for facet, code in item.facets)
                row.update(id=record_id, version=version, created_at=now)
                inserts.append(row)
            else:
                record_id = existing.id
                row.update(b_id=record_id, version=version)
                updates.append(row)
                touched.append(record_id)
                facets.extend((record_id, facet, code) for facet, code in item.facets)
            changes.append(changelog.entry(
                seq=seq, record_id=record_id, record_type=record_type,
                owner_agency=owner, source_id=item.source_id, op="upsert",
                version=version, visibility=item.visibility,
                previous_visibility=existing.visibility if existing else None,
                content_hash=item.content_hash, data=item.data_json,
                provenance=provenance, changed_at=now,
            ))
        await _drop_facets(session, touched)  # an updated or deleted record's old facets
        if inserts:
            await bulk_insert(session, RECORDS, *as_rows(inserts))
        if updates:
            await session.execute(
                RECORDS.update()
                .where(RECORDS.c.id == sa.bindparam("b_id"))
                .values({k: sa.bindparam(k) for k in updates[0] if k != "b_id"}),
                updates,
            )
        if deletes:
            await session.execute(
                RECORDS.update()
                .where(RECORDS.c.id == sa.bindparam("b_id"))
                .values(deleted=True, version=sa.bindparam("version"), seq=sa.bindparam("seq"),
                        updated_at=sa.bindparam("updated_at"),
                        provenance=sa.bindparam("provenance")),
                deletes,
            )
            # A deleted record lets go of its archived files (kept while others use them).
            await detach_all(session, {d["b_id"]: d["seq"] for d in deletes}, now)
        await bulk_insert(session, FACETS, FACET_COLUMNS, facets)
        await changelog.append(session, changes)


async def _drop_facets(session: AsyncSession, record_ids: list[str]) -> None:
    """Delete the facets of ``record_ids``: their records' old ones, or those written ahead
    for records not created."""
    for start in range(0, len(record_ids), KEY_CHUNK):
        await session.execute(
            FACETS.delete().where(FACETS.c.record_id.in_(record_ids[start : start + KEY_CHUNK]))
        )


async def _prepare(
    record_type: schemas.RecordType,
    items: Sequence[Any],
    vocabularies: Mapping[str, frozenset[str]],
    indexes: Sequence[int] | None,
    registry: CodeRegistry | None = None,
) -> tuple[list[Prepared], list[Rejection]]:
    """``hub._prepare.prepare``, letting the event loop run between slices (see PreparedBatch)."""
    batch = PreparedBatch(record_type, vocabularies, registry)
    for start in range(0, len(items), PREPARE_SLICE):
        if start:
            await asyncio.sleep(0)
        end = start + PREPARE_SLICE
        batch.add(items[start:end], indexes=None if indexes is None else indexes[start:end],
                  first=start)
    return batch.prepared, batch.rejections


def decode_json(body: bytes) -> Any:
    """Decode a JSON body, turning every decoding failure, and a key repeated in an object
    (``hub._json_strict``), into a clear 400."""
    try:
        return json_strict.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"Nội dung không phải JSON hợp lệ (UTF-8): {exc.msg} (vị trí {exc.pos}).",
            f"The body is not valid JSON (UTF-8): {exc.msg} (position {exc.pos}).",
        ) from None
    except json_strict.StrictJSONError as exc:
        raise json_strict.refused(exc) from None
