"""Replication keys compared by their declared format, not as text (issue 24 item 10), and
runs of equal keys larger than a page on a moving source (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import connectors
from connectors._anchored import Walk, step
from connectors._cursor_values import BadCursorValue, cursor_sort_key
from hub import Hub
from tests.connectors import (
    SIM_SECRET,
    expected_live,
    hub_products,
    running_simulator,
    sim_config,
)

SECRET = connectors.Secrets.model_validate({"client_secret": SIM_SECRET})
DMY = "dd/mm/yyyy HH:MM:SS"
THREE_DAYS_MS = str(3 * 86400 * 1000)


def test_dd_mm_yyyy_values_order_as_times_across_months_and_years() -> None:
    values = ["31/12/2025 23:59:59", "01/01/2026 00:00:00", "02/01/2026 08:00:00",
              "28/02/2026 12:00:00", "01/03/2026 00:00:00"]
    keys = [cursor_sort_key(v, DMY, "Asia/Ho_Chi_Minh") for v in values]
    assert keys == sorted(keys)
    assert sorted(values) != values  # as text they would not be in this order
    # Local time in the connector's zone: 07:00 in Hà Nội is midnight UTC.
    assert cursor_sort_key("01/01/2026 07:00:00", DMY, "Asia/Ho_Chi_Minh") == datetime(
        2026, 1, 1, tzinfo=UTC)
    with pytest.raises(BadCursorValue):
        cursor_sort_key("2026-01-01 07:00:00", DMY, "Asia/Ho_Chi_Minh")
    assert cursor_sort_key("10", "number", "UTC") > cursor_sort_key("9", "number", "UTC")


def test_a_dd_mm_yyyy_cursor_format_is_validated() -> None:
    base = {"since_param": "tu", "cursor_field": "luc"}
    assert connectors.Incremental.model_validate({**base, "cursor_format": DMY})
    for bad in ({"cursor_format": "dd/mm/yy"}, {"timezone": "Mars/Olympus"}):
        with pytest.raises(ValueError):
            connectors.Incremental.model_validate({**base, **bad})


def _walk_all(source: list[tuple[str, int]], page_size: int) -> list[str]:
    """Drive the pure walk over a fixed source of (id, key) ordered by key."""
    walk, taken = Walk(), []
    for _ in range(1000):
        rows = [{"id": i, "k": k} for i, k in source
                if walk.anchor is None or k >= int(walk.anchor)]
        start = walk.page * page_size
        walk, take = step(walk, rows[start : start + page_size], page_size=page_size,
                          key_of=lambda r: str(r["k"]), sort_key=int,
                          id_of=lambda r: str(r["id"]))
        taken += [str(r["id"]) for r in take]
        if walk.done:
            return taken
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("page_size", [1, 2, 3, 7, 50])
def test_the_walk_takes_every_record_once_with_runs_of_equal_keys(page_size: int) -> None:
    source = [(n, n // 5) for n in range(40)]  # runs of 5 equal keys
    assert sorted(_walk_all(source, page_size), key=int) == [str(n) for n in range(40)]
    assert len(_walk_all(source, page_size)) == 40


def test_a_walk_refuses_a_source_not_ordered_by_its_key() -> None:
    with pytest.raises(connectors.ConnectorError):
        step(Walk(), [{"id": 1, "k": "5"}, {"id": 2, "k": "3"}], page_size=2,
             key_of=lambda r: r["k"], sort_key=int, id_of=lambda r: str(r["id"]))


async def _create(hub: Hub, agency: str, config: dict[str, Any]) -> str:
    async with hub.db.transaction() as session:
        info = await connectors.create_connector(hub, session, agency=agency, name="thử",
                                                 kind="rest", config=config, secrets=SECRET)
    return info.id


@pytest.mark.anyio
async def test_dd_mm_yyyy_cursor_advances_across_months_and_years(
    chub: Hub, tmp_path: Path, backend: str
) -> None:
    # 200 records three days apart: update times from 2026 into 2027, in dd/mm/yyyy.
    with running_simulator(tmp_path, "--records", "200", "--seed", "4", "--time-format", DMY,
                           "--clock-step-ms", THREE_DAYS_MS) as sim:
        stamps = [r["cap_nhat_luc"] for r in sim.state()]
        assert stamps[0].endswith("2026 07:00:00") and stamps[-1][6:10] == "2027"
        assert max(stamps) != stamps[-1]  # the lexically largest is not the latest
        for style, agency in (("page", "08"), ("cursor", "G16")):
            cid = await _create(chub, agency, sim_config(sim, pagination=style, page_size=30,
                                                         time_format=DMY))
            held = len(sim.state())  # 200, and what the first style's changes added
            first = await connectors.run_connector(chub, cid)
            assert first["status"] == "succeeded" and first["created"] == held, first["errors"]
            done = sim.mutate(update=5, create=3)
            again = await connectors.run_connector(chub, cid)
            assert again["status"] == "succeeded", again["errors"]
            # Only what changed (and the record at the cursor) is read again, not everything
            # since "31/12/...", as text comparison did.
            assert again["fetched"] <= 5 + 3 + 1, (style, again)
            assert again["created"] == 3 and again["updated"] == 5, (style, again)
            live, _ = await hub_products(chub, agency)
            assert live == expected_live(sim.state()), style
            _, first_run = await connectors.list_runs(chub, cid)
            assert first_run["fetched"] == held and len(done["updated"]) == 5


@pytest.mark.anyio
async def test_runs_of_equal_update_times_larger_than_a_page_on_a_moving_source(
    chub: Hub, tmp_path: Path, backend: str
) -> None:
    # A change every 10 ms, written to the second: about 100 records share each value, more
    # than a 40-record page, while two records move before every answer.
    with running_simulator(tmp_path, "--records", "1500", "--seed", "9", "--time-format", DMY,
                           "--clock-step-ms", "10", "--move-rate", "2") as sim:
        cid = await _create(chub, "08", sim_config(sim, pagination="page", page_size=40,
                                                   time_format=DMY))
        run = await connectors.run_connector(chub, cid)
        assert run["status"] == "succeeded", run["errors"]
        live, _ = await hub_products(chub, "08")
        expected = expected_live(sim.state())
        print(f"\nequal-key runs: lost {len(set(expected) - set(live))}, "
              f"shifts repaired {run['shifts']}")
        assert live == expected
        again = await connectors.run_connector(chub, cid)
        assert again["status"] == "succeeded", again["errors"]
        live, _ = await hub_products(chub, "08")
        assert live == expected_live(sim.state())
