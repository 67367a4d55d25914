"""The change log's one writer (``record_changes``): ``seq`` numbers, entries, provenance.

Every new version of a record is written here, whoever makes it: the ingest pipeline
(``hub._ingest``, a batch at a time) and the product archive (a file attached or detached,
``hub._archive``). :mod:`hub._changes` reads the log.

- ``seq``: :func:`lock` takes the change-feed lock (:func:`hub._db.take_change_feed_lock`)
  and returns the transaction's :class:`Seqs`, which hands out the numbers after the last
  one allocated; :meth:`Seqs.release` records the last one taken, before the commit. So
  ``seq`` order is commit order (see :mod:`hub._changes`).
- entries: :func:`entry` makes one row in :data:`COLUMNS` order; :func:`append` writes rows
  with one Core statement (COPY on PostgreSQL, one executemany elsewhere: ``hub._bulk``),
  never through the ORM.
- provenance: :class:`Provenance`, the channel, client and batch of a version, and the
  source's own ``source_updated_at`` when it gave one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hub._bulk import bulk_insert
from hub._db import release_seq, take_change_feed_lock
from hub._principal import Principal
from hub.tables import RecordChange

CHANGES: sa.Table = RecordChange.__table__  # type: ignore[assignment]
COLUMNS = ("seq", "record_id", "record_type", "owner_agency", "source_id", "op", "version",
           "visibility", "previous_visibility", "content_hash", "data", "provenance",
           "changed_at")

Entry = tuple[Any, ...]


class Seqs:
    """The ``seq`` numbers one transaction allocates under the change-feed lock."""

    __slots__ = ("_start", "last")

    def __init__(self, last: int) -> None:
        self._start = last
        self.last = last  # the last number allocated (by this transaction or before it)

    def take(self) -> int:
        """The next number."""
        self.last += 1
        return self.last

    @property
    def taken(self) -> int:
        return self.last - self._start

    async def release(self, session: AsyncSession) -> None:
        """Record the numbers taken (nothing to do when none was): the next writer goes on
        after them."""
        if self.last != self._start:
            await release_seq(session, self.last)


async def lock(session: AsyncSession) -> Seqs:
    """Take the change-feed lock for this transaction (see ``take_change_feed_lock``: on
    SQLite, the transaction's first write) and the ``seq`` numbers after the last one."""
    return Seqs(await take_change_feed_lock(session))


class Provenance:
    """Where versions come from: the principal's channel and client, and the batch (None
    outside a batch). Encoded once (an ``orjson.Fragment``) for all the versions that share
    it: :meth:`of` adds a record's ``source_updated_at`` when its source gave one."""

    __slots__ = ("_shared", "fields")

    def __init__(self, principal: Principal, batch: str | None) -> None:
        self.fields: dict[str, Any] = {
            "channel": principal.channel, "client": principal.client_id, "batch": batch
        }
        self._shared = orjson.Fragment(orjson.dumps(self.fields))

    def of(self, source_updated_at: Any = None) -> orjson.Fragment:
        if source_updated_at is None:
            return self._shared
        return orjson.Fragment(
            orjson.dumps({**self.fields, "source_updated_at": source_updated_at}))


def entry(
    *, seq: int, record_id: str, record_type: str, owner_agency: str, source_id: str, op: str,
    version: int, visibility: str, previous_visibility: str | None, content_hash: str,
    data: Any, provenance: Any, changed_at: datetime,
) -> Entry:
    """One change-log row (``op`` "upsert" or "delete"; ``data`` None for a delete)."""
    return (seq, record_id, record_type, owner_agency, source_id, op, version, visibility,
            previous_visibility, content_hash, data, provenance, changed_at)


async def append(session: AsyncSession, entries: Sequence[Entry]) -> None:
    """Write ``entries`` (from :func:`entry`), their ``seq`` taken from this transaction's
    :class:`Seqs`: one statement for all of them."""
    await bulk_insert(session, CHANGES, COLUMNS, entries)
