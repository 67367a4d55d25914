"""DataLoaders of one request: each relation costs one SQL query per batch, whatever the
number of parents (tests/graphql/test_query_count.py counts them).

* ``terms``: vocabulary terms by (vocabulary, code), for ``themeTerms``, ``kindTerm``...
* ``records``: records by (type, owner, source_id), visible to the caller, for a course's
  products, a lesson's course and an award's products.
* ``files``: the archived files of records by record id (``hub.archive._service.files_for_records``,
  which applies the records' access policy again).

A record's agency needs no loader: the registry is already in memory (``Context.graph``).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from strawberry.dataloader import DataLoader

from hub import (
    ENVELOPE_COLUMNS,
    AgencyGraph,
    FileInfo,
    Hub,
    Principal,
    Record,
    VocabularyTerm,
    files_for_records,
    visible_to,
)

TermKey = tuple[str, str]


RecordKey = tuple[str, str, str]


# The envelope's fields of ENVELOPE_COLUMNS by position (all but the data and seq columns),
# named as the record types' fields are.
_KEYS = [c.key for c in ENVELOPE_COLUMNS]
_DATA = _KEYS.index("data")
_ENVELOPE = [(i, "type" if key == "record_type" else key)
             for i, key in enumerate(_KEYS) if key not in ("data", "seq")]
# The names a record's source holds besides its content.
ENVELOPE_NAMES = frozenset(name for _, name in _ENVELOPE)
_NAMES = [name for _, name in _ENVELOPE]
_ATTRIBUTES = [_KEYS[index] for index, _ in _ENVELOPE]
_PICK = operator.itemgetter(*(index for index, _ in _ENVELOPE))


def record_source(row: Any) -> dict[str, Any]:
    """What a record type's fields read: the stored content plus the envelope columns. A
    plain dict merge, no model: the default resolver looks names up in it. ``row``: a row of
    ENVELOPE_COLUMNS (read by position: a Row's attribute look-up cost more than the merge)
    or a Record."""
    if isinstance(row, Record):
        source = dict(row.data)  # the mapped object's own content: merged into a copy
        source.update(zip(_NAMES, [getattr(row, key) for key in _ATTRIBUTES], strict=True))
        return source
    source = row[_DATA]  # decoded for this row alone: merged in place
    source.update(zip(_NAMES, _PICK(row), strict=True))
    return source


class Loaders:
    def __init__(self, hub: Hub, principal: Principal, graph: AgencyGraph) -> None:
        self._hub = hub
        self._principal = principal
        self._graph = graph
        self.terms: DataLoader[TermKey, dict[str, Any] | None] = DataLoader(self._load_terms)
        self.records: DataLoader[RecordKey, dict[str, Any] | None] = DataLoader(
            self._load_records
        )
        self.files: DataLoader[str, list[FileInfo]] = DataLoader(self._load_files)

    async def _load_files(self, keys: Sequence[str]) -> list[list[FileInfo]]:
        found = await files_for_records(self._hub, self._principal, list(keys))
        return [found.get(key, []) for key in keys]

    async def _load_terms(self, keys: Sequence[TermKey]) -> list[dict[str, Any] | None]:
        vocabularies = sorted({v for v, _ in keys})
        codes = sorted({c for _, c in keys})
        stmt = sa.select(
            VocabularyTerm.vocabulary, VocabularyTerm.code, VocabularyTerm.label_vi,
            VocabularyTerm.label_en, VocabularyTerm.group, VocabularyTerm.active,
        ).where(VocabularyTerm.vocabulary.in_(vocabularies), VocabularyTerm.code.in_(codes))
        async with self._hub.db.read() as session:
            rows = (await session.execute(stmt)).all()
        found = {  # by position: the Core row names the group column by its SQL name
            (vocabulary, code): {
                "vocabulary": vocabulary, "code": code, "label_vi": label_vi,
                "label_en": label_en, "group": group, "active": active,
            }
            for vocabulary, code, label_vi, label_en, group, active in rows
        }
        return [found.get(key) for key in keys]

    async def _load_records(self, keys: Sequence[RecordKey]) -> list[dict[str, Any] | None]:
        stmt = sa.select(*ENVELOPE_COLUMNS).where(
            sa.tuple_(Record.record_type, Record.owner_agency, Record.source_id).in_(
                [tuple(k) for k in keys]
            ),
            Record.deleted.is_(False),
            visible_to(self._principal, self._graph),
        )
        async with self._hub.db.read() as session:
            rows = (await session.execute(stmt)).all()
        found = {(r.record_type, r.owner_agency, r.source_id): record_source(r) for r in rows}
        return [found.get(key) for key in keys]
