from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from hub import Hub


@pytest.fixture
async def chub(hub: Hub) -> AsyncIterator[Hub]:
    """The test hub with no connectors left from an earlier test."""
    async with hub.db.transaction() as session:
        for table in ("connector_keys", "connector_seen", "connector_checkpoints",
                      "connector_runs", "connectors"):
            await session.execute(sa.text(f"DELETE FROM {table}"))
    yield hub
