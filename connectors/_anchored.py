"""A walk re-anchored on the replication key: page and offset paging that stay exact while
records move on the source (issue 17).

Walking page numbers across a whole run loses records on a live source: an update moves a
record to the end of the list ordered by update time, every record behind it shifts back one
place, and the one at a page boundary is never returned. This walk asks instead for
``since=<last value seen>`` (inclusive) and the first page, every time: a record that moves
gets a larger key and is met again further on, and the records that did not move are where
the query says. Records already taken at the anchor value are skipped (by source id and
content: one updated again within the same value is taken again).

Page numbers are used only inside a run of equal key values larger than a page (many
records updated in the same second). Inside such a run a shift cannot be seen from one page,
so before the walk leaves it, it reads the run again from its first page and takes what it
had missed; a pass that finds something is a shift, and the run is read once more, until a
pass finds nothing (at the end of the list, where records updated now keep joining the run,
it stops after a few passes: it stays at the anchor). The walk never moves its anchor past a
record it has not taken, so the checkpoint (the anchor, committed with the page) never passes
one either.

:func:`step` is pure: the state is plain data stored in the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from itertools import pairwise
from typing import Any

from connectors._http import ConnectorError

# Passes over one run of equal keys that each still find missed records: the source is
# changing faster than it can be read; the run fails (the checkpoint stays before the run).
MAX_VERIFY_PASSES = 8

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Walk:
    anchor: str | None = None  # the key value asked for (raw text); None: from the start
    # What was taken of the records whose key equals the anchor: the caller's ``id_of``, a
    # source id with a digest of the record's content.
    ids: tuple[str, ...] = ()
    page: int = 0  # pages into the run of records at the anchor
    verifying: bool = False  # reading the run at the anchor again before leaving it
    found: bool = False  # this verification pass found records missed before
    passes: int = 0
    verified: bool = False  # the run at the anchor is verified: the walk may leave it
    shifts: int = 0  # shifts met (and repaired) in this pass of the stream
    done: bool = False

    def as_state(self) -> dict[str, Any]:
        state = asdict(self)
        state["ids"] = list(self.ids)
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Walk:
        return cls(**{**state, "ids": tuple(state.get("ids") or ())})


def not_ordered(where: str) -> ConnectorError:
    return ConnectorError(
        f"Hệ thống cơ quan không trả bản ghi theo thứ tự tăng của khoá cập nhật ({where}); "
        "hãy khai báo incremental.ordered: false.",
        f"The agency does not list records by the replication key ascending ({where}); "
        "declare incremental.ordered: false.", retriable=False)


def step(
    walk: Walk,
    records: list[Record],
    *,
    page_size: int,
    key_of: Callable[[Record], str],
    sort_key: Callable[[str], Any],
    id_of: Callable[[Record], str | None],
) -> tuple[Walk, list[Record]]:
    """The walk after one page, and the page's records to take (those not taken yet)."""
    raw = [key_of(r) for r in records]
    keys = [sort_key(k) for k in raw]
    if any(b < a for a, b in pairwise(keys)):
        raise not_ordered("trong một trang / within a page")
    anchor = sort_key(walk.anchor) if walk.anchor is not None else None
    if anchor is not None and keys and keys[0] < anchor:
        raise not_ordered("trước mốc đã hỏi / before the value asked for")
    seen = set(walk.ids)

    def at_anchor(i: int) -> bool:
        return anchor is not None and keys[i] == anchor

    full = len(records) >= page_size
    # This page reaches past the run at the anchor, or the end of the list.
    ends_run = not full or anchor is None or keys[-1] > anchor
    if walk.verifying:
        new = [r for i, r in enumerate(records) if at_anchor(i) and id_of(r) not in seen]
        ids = walk.ids + tuple(i for i in map(id_of, new) if i is not None)
        found = walk.found or bool(new)
        if not ends_run:
            return replace(walk, page=walk.page + 1, ids=ids, found=found), new
        if found and walk.passes + 1 >= MAX_VERIFY_PASSES and not full:
            # The run at the end of the list keeps growing (records updated now share the
            # anchor's value): stop here. The checkpoint stays at the anchor, inclusive, so
            # the next run reads this run again and takes anything still missing.
            return replace(walk, verifying=False, verified=True, ids=ids,
                           shifts=walk.shifts + 1), new
        if found:
            if walk.passes + 1 >= MAX_VERIFY_PASSES:
                raise ConnectorError(
                    "Nguồn dịch chuyển liên tục trong một dãy bản ghi cùng thời điểm cập nhật.",
                    "The source keeps shifting inside a run of records with one update time.")
            return replace(walk, page=0, ids=ids, found=False, passes=walk.passes + 1,
                           shifts=walk.shifts + 1), new
        # Nothing missed: back to the walk at the page where the run ends, now verified.
        return replace(walk, verifying=False, verified=True, ids=ids), new
    take = [r for i, r in enumerate(records) if not (at_anchor(i) and id_of(r) in seen)]
    if walk.page > 0 and ends_run and not walk.verified:
        # Paged inside a run of equal keys: check the run before leaving it.
        new = [r for i, r in enumerate(records) if at_anchor(i) and id_of(r) not in seen]
        ids = walk.ids + tuple(i for i in map(id_of, new) if i is not None)
        return replace(walk, verifying=True, page=0, ids=ids, found=False, passes=0), new
    if not records:
        return replace(walk, done=True), []
    last = keys[-1]
    if anchor is not None and last == anchor:
        ids = walk.ids + tuple(i for i in map(id_of, take) if i is not None)
        if not full:
            return replace(walk, ids=ids, done=True), take
        return replace(walk, page=walk.page + 1, ids=ids), take
    ids = tuple(i for k, r in zip(keys, records, strict=True) if k == last
                for i in (id_of(r),) if i is not None)
    return Walk(anchor=raw[-1], ids=ids, shifts=walk.shifts, done=not full), take
