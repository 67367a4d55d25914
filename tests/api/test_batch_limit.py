"""The batch-size limit (``max_batch_records``) is the ingest pipeline's: a direct caller gets
the same 413 problem as REST and GraphQL, and the callers that read more than a batch (file
imports, connector pages) split by the pipeline's limit instead of failing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from hub import Hub, ImportSummary, PayloadTooLarge, Principal
from hub._imports import import_rows
from hub.tables import Record
from tests.conftest import make_settings

pytestmark = pytest.mark.anyio
LIMIT = 5
WRITER = Principal("limit-test", "G16", frozenset({"records:write"}), channel="api")


def book(n: int, prefix: str = "LIM") -> dict[str, Any]:
    return {"source_id": f"{prefix}-{n}", "kind": "book", "title": f"Sách {n}"}


@pytest.fixture
async def small(hub: Hub) -> AsyncIterator[Hub]:
    """The test hub's database behind a hub whose batches hold at most LIMIT records."""
    small = Hub(make_settings(hub.settings.database_url, max_batch_records=LIMIT))
    try:
        yield small
    finally:
        await small.close()


async def _count(hub: Hub, prefix: str) -> int:
    async with hub.db.session() as session:
        return int((await session.execute(sa.select(sa.func.count()).select_from(Record).where(
            Record.source_id.like(f"{prefix}-%")))).scalar_one())


@pytest.mark.parametrize("dry_run", [False, True])
async def test_the_pipeline_refuses_a_batch_over_the_limit(small: Hub, dry_run: bool) -> None:
    assert small.ingest.max_batch == LIMIT
    with pytest.raises(PayloadTooLarge) as refused:
        await small.ingest.ingest(WRITER, "products", [book(n) for n in range(LIMIT + 1)],
                                  dry_run=dry_run)
    problem = refused.value
    assert problem.status == 413
    assert problem.detail_vi == f"Một lô tối đa {LIMIT} bản ghi; lô này có {LIMIT + 1}."
    assert problem.detail_en == f"A batch holds at most {LIMIT} records; this one has 6."
    assert await _count(small, "LIM") == 0
    summary = await small.ingest.ingest(WRITER, "products", [book(n) for n in range(LIMIT)],
                                        dry_run=dry_run)
    assert isinstance(summary, ImportSummary) and summary.created == LIMIT


@dataclass
class _Row:
    line: int
    item: dict[str, Any]
    error: tuple[str, str] | None = None


async def test_a_file_import_splits_by_the_pipelines_limit(small: Hub) -> None:
    rows = [_Row(n + 1, book(n, "IMP")) for n in range(2 * LIMIT + 2)]
    rows[7].item["kind"] = "no-such-kind"
    summary = await import_rows(small.ingest, WRITER, "products", rows, chunk_size=1000)
    assert summary.created == 2 * LIMIT + 1 and summary.rejected == 1
    assert [r.index for r in summary.rejections] == [8]  # the file's line, across chunks
    assert await _count(small, "IMP") == 2 * LIMIT + 1


async def test_a_connector_page_over_the_limit_goes_in_batches(small: Hub) -> None:
    from connectors import create_connector
    from connectors._runs import RunContext, load, load_state, save_state, start_run

    async with small.db.transaction() as session:
        for table in ("connector_keys", "connector_seen", "connector_checkpoints",
                      "connector_runs", "connectors"):
            await session.execute(sa.text(f"DELETE FROM {table}"))
        info = await create_connector(small, session, agency="G16", name="limit", kind="hub",
                                      config={"base_url": "http://127.0.0.1:9"})
    run_id = await start_run(small, info.id, owner=None, trigger="test", full=False)
    ctx = RunContext(small, await load(small, info.id), run_id, None, 60.0)
    page = [book(n, "PAGE") for n in range(2 * LIMIT + 1)]

    async def checkpoint(session: Any) -> None:
        assert await _count(small, "PAGE") == 2 * LIMIT  # the page's earlier batches
        await save_state(session, info.id, "s", {"cursor": 42})

    await ctx.ingest("products", page, extra=checkpoint, fetched=len(page))
    assert await _count(small, "PAGE") == 2 * LIMIT + 1
    assert ctx.counts["pages"] == 1 and ctx.counts["fetched"] == len(page)
    assert ctx.counts["created"] == 2 * LIMIT + 1
    assert await load_state(small, info.id, "s") == {"cursor": 42}
