"""During bulk loads the hub re-analyses the records table's look-up columns as it grows
(``hub._db.Database.note_inserted``, PostgreSQL only), by half its size, at most every
20,000 rows, and no more often while batches arrive together."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event

from hub import Hub

pytestmark = pytest.mark.anyio


async def test_rows_noted_during_an_analyze_still_count(hub: Hub, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("the statistics refresh is PostgreSQL's")
    analyses: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("ANALYZE"):
            analyses.append(statement)

    event.listen(hub.db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        # Forty batches of 1,000 that end together: one ANALYZE, the 39 batches noted while
        # it runs wait for the next one.
        await asyncio.gather(*(hub.db.note_inserted(1000) for _ in range(40)))
        assert len(analyses) == 1
        await hub.db.note_inserted(1000)  # 40,000 pending: analysed again
        assert len(analyses) == 2
        # 41,000 rows are now known, so the next 1,000 are not worth an ANALYZE. (When the
        # 39 batches went uncounted, the hub thought the table had 2,000 rows and analysed.)
        await hub.db.note_inserted(1000)
        assert len(analyses) == 2
    finally:
        event.remove(hub.db.engine.sync_engine, "before_cursor_execute", seen)
    assert analyses[0] == "ANALYZE records (owner_agency, record_type, source_id)"
