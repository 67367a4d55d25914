"""Pulls from a source that changes while the hub pages through it (issue 17): the
simulator's moving mode updates records before every answer, and each update moves a record
to the end of the list ordered by update time, shifting the records behind it. Re-anchored
paging ends with exactly the source's records; page numbers walked across the run lose some,
which is what the walk beside it shows (and counts as shifts). Real simulator, SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import connectors
from hub import Hub
from tests.connectors import (
    SIM_SECRET,
    expected_live,
    hub_products,
    running_simulator,
    sim_config,
)

pytestmark = pytest.mark.anyio
SECRET = connectors.Secrets.model_validate({"client_secret": SIM_SECRET})
RECORDS = "3000"
MOVES_PER_ANSWER = "4"  # about 4 % of a 100-record page moves before each answer


async def _create(hub: Hub, agency: str, config: dict[str, Any]) -> str:
    async with hub.db.transaction() as session:
        info = await connectors.create_connector(hub, session, agency=agency, name="thử",
                                                 kind="rest", config=config, secrets=SECRET)
    return info.id


async def _lost_and_extra(hub: Hub, agency: str, state: list[dict[str, Any]]
                          ) -> tuple[set[str], set[str]]:
    expected = expected_live(state)
    live, _ = await hub_products(hub, agency)
    wrong = {k for k in expected.keys() & live.keys() if live[k] != expected[k]}
    return set(expected) - set(live) | wrong, set(live) - set(expected)


@pytest.mark.parametrize("style", ["page", "offset"])
async def test_a_moving_source_is_pulled_exactly(
    chub: Hub, tmp_path: Path, backend: str, style: str
) -> None:
    if backend != "sqlite" and style == "offset":
        pytest.skip("offset and page share the walk: page numbers on both databases suffice")
    with running_simulator(tmp_path, "--records", RECORDS, "--seed", "21",
                           "--move-rate", MOVES_PER_ANSWER) as sim:
        cid = await _create(chub, "08", sim_config(sim, pagination=style, page_size=100))
        run = await connectors.run_connector(chub, cid)
        assert run["status"] == "succeeded", run["errors"]
        lost, extra = await _lost_and_extra(chub, "08", sim.state())
        moved = sim.stats()["requests"] * int(MOVES_PER_ANSWER)
        print(f"\nanchored {style}: {moved} moves, lost {len(lost)}, extra {len(extra)}")
        assert (lost, extra) == (set(), set())
        assert run["created"] == int(RECORDS)
        # An incremental pull while the source keeps moving, after some creates and deletes.
        done = sim.mutate(create=30, update=40, delete=20)
        again = await connectors.run_connector(chub, cid)
        assert again["status"] == "succeeded", again["errors"]
        assert again["created"] >= 30 and again["deleted"] == 20, again
        lost, extra = await _lost_and_extra(chub, "08", sim.state())
        assert (lost, extra) == (set(), set())
        _, deleted = await hub_products(chub, "08")
        assert deleted == set(done["deleted"])


async def test_page_numbers_walked_across_a_moving_source_lose_records(
    chub: Hub, tmp_path: Path, backend: str
) -> None:
    """The control: the same source walked by page number (``ordered: false``, the way every
    page-number pull went before) loses records, and the run says it met shifts."""
    if backend != "sqlite":
        pytest.skip("the control does not depend on the database")
    with running_simulator(tmp_path, "--records", RECORDS, "--seed", "21",
                           "--move-rate", MOVES_PER_ANSWER) as sim:
        config = sim_config(sim, pagination="page", page_size=100)
        config["streams"][0]["incremental"]["ordered"] = False
        cid = await _create(chub, "G16", config)
        run = await connectors.run_connector(chub, cid)
        assert run["status"] == "succeeded", run["errors"]
        lost, _ = await _lost_and_extra(chub, "G16", sim.state())
        print(f"\nwalked page: lost {len(lost)} of {RECORDS}, shifts counted {run['shifts']}")
        assert lost and run["shifts"] >= 1
