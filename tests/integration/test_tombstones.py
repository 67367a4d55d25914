"""A delete for a key the hub never had: a pull connector's pipeline call
(``tombstone_unknown``) writes a tombstone and its ``delete`` change; the key comes back as
version 2 when the source brings the record back; a REST client's delete of an unknown key
is still a ``not_found`` rejection (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from hub import Hub, ImportSummary, Principal
from hub.tables import Record, RecordChange
from tests.conftest import auth

pytestmark = pytest.mark.anyio
PULL = Principal("connector-test", "G16", frozenset(), "connector")


async def test_a_delete_of_an_unknown_key_leaves_a_tombstone(
    hub: Hub, client: httpx.AsyncClient
) -> None:
    first = await hub.ingest.ingest(PULL, "products", [
        {"source_id": "TS-1", "_op": "delete"},
        {"source_id": "TS-2", "kind": "book", "title": "Sổ tay", "publication_year": 2025},
    ], tombstone_unknown=True)
    assert isinstance(first, ImportSummary)
    assert (first.created, first.deleted, first.rejections) == (1, 1, [])
    async with hub.db.session() as session:
        row = (await session.execute(sa.select(Record).where(
            Record.source_id == "TS-1"))).scalar_one()
        change = (await session.execute(sa.select(RecordChange).where(
            RecordChange.source_id == "TS-1"))).scalar_one()
    assert row.deleted and row.version == 1 and row.data == {} and row.owner_agency == "G16"
    assert change.op == "delete" and change.seq == row.seq and change.data is None
    feed = (await client.get("/v1/changes?after=0", headers=auth("g16"))).json()
    ops = [(c["op"], c["record"]["source_id"]) for c in feed["changes"]]
    assert ("delete", "TS-1") in ops and ("upsert", "TS-2") in ops, ops

    again = await hub.ingest.ingest(PULL, "products", [{"source_id": "TS-1", "_op": "delete"}],
                                    tombstone_unknown=True)
    assert isinstance(again, ImportSummary) and (again.unchanged, again.deleted) == (1, 0)

    back = await hub.ingest.ingest(PULL, "products", [
        {"source_id": "TS-1", "kind": "book", "title": "Trở lại", "publication_year": 2025}])
    assert isinstance(back, ImportSummary) and (back.updated, back.created) == (1, 0)
    async with hub.db.session() as session:
        revived = (await session.execute(sa.select(Record).where(
            Record.source_id == "TS-1"))).scalar_one()
    assert not revived.deleted and revived.version == 2 and revived.title == "Trở lại"

    pushed = await hub.ingest.ingest(PULL, "products", [{"source_id": "TS-9", "_op": "delete"}])
    assert isinstance(pushed, ImportSummary)
    assert [r.code for r in pushed.rejections] == ["not_found"] and pushed.deleted == 0
