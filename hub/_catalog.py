"""Cached reference data (agency registry, vocabularies) shared by requests in one process.

Both are small and change rarely (admins edit them); a short time-to-live lets every process
of a multi-process deployment see an edit within seconds without a message bus.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

import schemas
from hub._db import Database
from hub._registry import AgencyGraph, CodeRegistry, load_agency_graph
from hub.tables import Vocabulary, VocabularyTerm

CATALOG_TTL_SECONDS = 30.0


async def seed_vocabularies(session: AsyncSession) -> int:
    """Insert vocabularies and terms shipped with the data standard; keep admin edits.

    Terms already present are left as they are (an admin may have relabelled them); new terms
    of a newer standard are added, and the vocabulary's version is raised to the seed's.
    """
    existing = {
        v.name: v for v in (await session.execute(sa.select(Vocabulary))).scalars()
    }
    known_terms = set(await session.execute(
        sa.select(VocabularyTerm.vocabulary, VocabularyTerm.code)
    ))
    added = 0
    for seed in schemas.load_vocabulary_seed():
        vocab = existing.get(seed.vocabulary)
        if vocab is None:
            session.add(
                Vocabulary(
                    name=seed.vocabulary,
                    label_vi=seed.label_vi,
                    label_en=seed.label_en,
                    version=seed.version,
                    provisional=seed.provisional,
                )
            )
        elif vocab.version < seed.version:
            vocab.version = seed.version
            vocab.provisional = seed.provisional
        await session.flush()
        for term in seed.terms:
            if (seed.vocabulary, term.code) in known_terms:
                continue
            session.add(
                VocabularyTerm(
                    vocabulary=seed.vocabulary,
                    code=term.code,
                    label_vi=term.label_vi,
                    label_en=term.label_en,
                    group=term.group,
                    active=term.active,
                )
            )
            added += 1
    await session.flush()
    return added


async def load_vocabulary_codes(session: AsyncSession) -> dict[str, frozenset[str]]:
    rows = await session.execute(
        sa.select(VocabularyTerm.vocabulary, VocabularyTerm.code).where(VocabularyTerm.active)
    )
    codes: dict[str, set[str]] = defaultdict(set)
    for vocabulary, code in rows:
        codes[vocabulary].add(code)
    return {k: frozenset(v) for k, v in codes.items()}


class Catalog:
    """The agency graph (with its code index for ingest) and active vocabulary codes,
    reloaded after ``CATALOG_TTL_SECONDS``, or at the next use after ``invalidate()`` (a
    process that changed the registry or the vocabularies calls it)."""

    def __init__(self, db: Database, ttl: float = CATALOG_TTL_SECONDS) -> None:
        self._db = db
        self._ttl = ttl
        self._loaded_at = float("-inf")
        self._graph: AgencyGraph | None = None
        self._registry: CodeRegistry | None = None
        self._codes: Mapping[str, frozenset[str]] = {}

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def _refresh(self) -> None:
        if time.monotonic() - self._loaded_at < self._ttl and self._graph is not None:
            return
        async with self._db.session() as session:
            graph = await load_agency_graph(session)
            self._codes = await load_vocabulary_codes(session)
        # The code index of ingest is rebuilt with the graph, never served for another one.
        self._graph, self._registry = graph, CodeRegistry(graph)
        self._loaded_at = time.monotonic()

    async def agencies(self) -> AgencyGraph:
        await self._refresh()
        assert self._graph is not None
        return self._graph

    async def registry(self) -> CodeRegistry:
        """The checker of the agency and province codes in records (``hub._registry``)."""
        await self._refresh()
        assert self._registry is not None
        return self._registry

    async def vocabulary_codes(self) -> Mapping[str, frozenset[str]]:
        await self._refresh()
        return self._codes
