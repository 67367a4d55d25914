"""The ingest pipeline's ``in_transaction`` hook: the caller's writes commit with the batch,
and a failing hook rolls the whole batch back (what makes a connector checkpoint atomic)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from hub import Hub, ImportSummary, Principal
from hub.tables import ConnectorCheckpoint, Record, utcnow

pytestmark = pytest.mark.anyio
WRITER = Principal("hook-test", "G16", frozenset({"records:write"}), channel="connector")
BOOKS = [{"source_id": f"HOOK-{n}", "kind": "book", "title": f"Sách {n}"} for n in range(3)]


async def _count(hub: Hub) -> int:
    async with hub.db.session() as session:
        return int((await session.execute(sa.select(sa.func.count()).select_from(Record).where(
            Record.source_id.like("HOOK-%")))).scalar_one())


async def test_the_hook_commits_with_the_batch(chub: Hub) -> None:
    from connectors import create_connector

    async with chub.db.transaction() as session:
        info = await create_connector(chub, session, agency="G16", name="hook", kind="hub",
                                      config={"base_url": "http://127.0.0.1:9"})
    seen: list[int] = []

    async def hook(session: AsyncSession, summary: ImportSummary) -> None:
        seen.append(summary.created)
        session.add(ConnectorCheckpoint(connector_id=info.id, stream="s", state={"n": 3},
                                        updated_at=utcnow()))

    await chub.ingest.ingest(WRITER, "products", BOOKS, in_transaction=hook)
    assert seen == [3] and await _count(chub) == 3
    async with chub.db.session() as session:
        assert (await session.get(ConnectorCheckpoint, (info.id, "s"))).state == {"n": 3}


async def test_a_failing_hook_rolls_the_batch_back(chub: Hub) -> None:
    async def hook(session: AsyncSession, summary: ImportSummary) -> None:
        raise RuntimeError("lease lost")

    with pytest.raises(RuntimeError):
        await chub.ingest.ingest(WRITER, "products", BOOKS, in_transaction=hook)
    assert await _count(chub) == 0
