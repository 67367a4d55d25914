"""Standard v1.1 in mappings: cost in whole dong with every accepted spelling and the refused
ones; source_updated_at from a declared field or from the replication key, and present in
the provenance after a real pull from the simulator (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import connectors
from connectors import MappingSpec, apply_mapping
from connectors._mapping import parse_stamp
from hub import Hub
from hub.tables import Record
from tests.connectors import SIM_SECRET, running_simulator, sim_config

SPEC = MappingSpec.model_validate({
    "source_id": "ma",
    "fields": {"title": {"from": "ten"}, "kind": {"value": "book"},
               "cost_vnd": {"from": "kinh_phi"}},
})


@pytest.mark.parametrize("spelling", [
    "1.250.000", "1,250,000", "1250000", "1.250.000 đ", "1.250.000 VNĐ", "1.250.000đ",
    "1.250.000 ₫", "1 250 000", "1.250.000 vnd", 1250000, 1250000.0,
])
def test_every_accepted_money_spelling(spelling: Any) -> None:
    mapped = apply_mapping(SPEC, {"ma": "A1", "ten": "Sách", "kinh_phi": spelling})
    assert mapped.issues == []
    assert mapped.item is not None and mapped.item["cost_vnd"] == 1_250_000


@pytest.mark.parametrize("spelling", [
    "1.250.000,50", "1,250,000.00", "12,5", "1.25", "1.250,000", "1,250.000", "-1.000",
    "1.2500", "1.250.000 USD", "một triệu", 12.5, -5, True,
])
def test_decimal_and_ambiguous_money_is_refused_clearly(spelling: Any) -> None:
    mapped = apply_mapping(SPEC, {"ma": "A1", "ten": "Sách", "kinh_phi": spelling})
    assert mapped.item is not None and "cost_vnd" not in mapped.item
    (issue,) = mapped.issues
    assert (issue.field, issue.code, issue.value) == ("cost_vnd", "bad_money", spelling)
    assert "số nguyên đồng" in issue.message_vi and "whole" in issue.message_en


def test_source_updated_at_from_declared_field_or_replication_key() -> None:
    declared = MappingSpec.model_validate({
        "source_id": "ma", "fields": {
            "title": {"from": "ten"}, "kind": {"value": "book"},
            "source_updated_at": {"from": "ngay_sua"}}})
    record = {"ma": "A1", "ten": "Sách", "ngay_sua": "01/03/2025 10:15:00",
              "cap_nhat": "2025-03-02T00:00:00Z"}
    item = apply_mapping(declared, record, updated_at_from="cap_nhat").item
    assert item is not None and item["source_updated_at"] == "2025-03-01T10:15:00+07:00"
    item = apply_mapping(SPEC, record, updated_at_from="cap_nhat").item
    assert item is not None and item["source_updated_at"] == "2025-03-02T00:00:00+00:00"
    assert "source_updated_at" not in (apply_mapping(SPEC, record).item or {})
    bad = apply_mapping(SPEC, {**record, "cap_nhat": "hôm qua"}, updated_at_from="cap_nhat")
    assert [(i.field, i.code) for i in bad.issues if i.field != "cost_vnd"] == [
        ("source_updated_at", "bad_datetime")]


@pytest.mark.anyio
async def test_pull_fills_source_updated_at_in_the_provenance(
    chub: Hub, tmp_path: Path
) -> None:
    with running_simulator(tmp_path, "--records", "40", "--seed", "5") as sim:
        async with chub.db.transaction() as session:
            info = await connectors.create_connector(
                chub, session, agency="08", name="v1.1", kind="rest",
                config=sim_config(sim, page_size=15),
                secrets=connectors.Secrets.model_validate({"client_secret": SIM_SECRET}))
        run = await connectors.run_connector(chub, info.id)
        assert run["status"] == "succeeded", run["errors"]
        expected = {r["ma_so"]: parse_stamp(r["cap_nhat_luc"]) for r in sim.state()
                    if r["trang_thai"] == "hien_hanh"}
    async with chub.db.session() as session:
        rows = (await session.execute(sa.select(Record.source_id, Record.provenance).where(
            Record.owner_agency == "08", Record.record_type == "products",
            Record.deleted.is_(False)))).all()
    got = {source_id: provenance.get("source_updated_at") for source_id, provenance in rows}
    assert got == expected and len(got) >= 30
