"""The dated agency registry: who existed when, and who succeeded whom.

Vietnam reorganised in 2025: ministries merged on 2025-03-01, 63 provinces became 34 on
2025-07-01. Records filed under a former agency roll up to its successors in every filter and
report, transitively (a successor that itself ceased rolls up further).
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

import schemas
from hub.tables import Agency, AgencySuccession

PROVINCES_REORGANISED_ON = date(2025, 7, 1)
MINISTRIES_REORGANISED_ON = date(2025, 3, 1)

# Facts not in the reference files yet (shared/data/README.md, "Known facts").
# Hub codes for bodies whose electronic identifier is not verified are spelt out, not guessed.
_EXTRA_AGENCIES: list[dict[str, Any]] = [
    {
        "code": "BTTTT",
        "name": "Bộ Thông tin và Truyền thông",
        "kind": "ministry",
        "level": "central",
        "valid_from": None,
        "valid_until": date(2025, 2, 28),
        "note": "Ceased 2025-03-01: press, publishing, grassroots and foreign information went to "
        "G16, the rest to G06. Electronic identifier code not verified; hub code used.",
    },
    {
        "code": "BTGTW",
        "name": "Ban Tuyên giáo Trung ương",
        "kind": "party-body",
        "level": "central",
        "valid_from": None,
        "valid_until": date(2025, 1, 31),
        "note": "Merged into Ban Tuyên giáo và Dân vận Trung ương in February 2025.",
    },
    {
        "code": "BDVTW",
        "name": "Ban Dân vận Trung ương",
        "kind": "party-body",
        "level": "central",
        "valid_from": None,
        "valid_until": date(2025, 1, 31),
        "note": "Merged into Ban Tuyên giáo và Dân vận Trung ương in February 2025.",
    },
    {
        "code": "BTGDVTW",
        "name": "Ban Tuyên giáo và Dân vận Trung ương",
        "kind": "party-body",
        "level": "central",
        "valid_from": date(2025, 2, 1),
        "valid_until": None,
        "note": "Formed in February 2025 from the two commissions; exact day to be verified.",
    },
]
_EXTRA_SUCCESSIONS = [
    ("BTTTT", "G16", MINISTRIES_REORGANISED_ON, "press, publishing, grassroots, foreign info"),
    ("BTTTT", "G06", MINISTRIES_REORGANISED_ON, "remaining functions"),
    ("BTGTW", "BTGDVTW", date(2025, 2, 1), None),
    ("BDVTW", "BTGDVTW", date(2025, 2, 1), None),
]


@dataclass(frozen=True, slots=True)
class RegistrySeed:
    agencies: list[dict[str, Any]]
    successions: list[tuple[str, str, date, str | None]]


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("hub").joinpath("seed", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def load_registry_seed() -> RegistrySeed:
    """Read the reference files into agencies and successions, validating their links.

    A province whose code continues after 2025-07-01 (the merged unit kept the code of one of
    its parts) is one agency with no end date; the units merged into it end on 2025-06-30.
    """
    agencies: dict[str, dict[str, Any]] = {}
    successions: list[tuple[str, str, date, str | None]] = []
    for row in _read_csv("central_agencies_2025.csv"):
        agencies[row["code"]] = {
            "code": row["code"],
            "name": row["name"],
            "kind": row["kind"],
            "level": "central",
            "valid_from": _day(row["valid_from"]),
            "valid_until": None,
            "note": row["note"] or None,
        }
    current = {row["code"]: row for row in _read_csv("provinces_2025.csv")}
    for row in _read_csv("provinces_before_2025.csv"):
        code, successor = row["code"], row["successor_code"]
        if successor not in current:
            raise ValueError(f"province {code}: successor {successor} is not a 2025 province")
        if code in current:
            continue
        agencies[code] = {
            "code": code,
            "name": row["name"],
            "kind": "province",
            "level": "provincial",
            "valid_from": None,
            "valid_until": _day(row["valid_until"]),
            "note": None,
        }
        successions.append((code, successor, PROVINCES_REORGANISED_ON, None))
    for code, row in current.items():
        parts = row["formed_from_codes"].split(";")
        agencies[code] = {
            "code": code,
            "name": row["name"],
            "kind": row["kind"],
            "level": "provincial",
            # A unit that kept its code existed before too: its validity has no start.
            "valid_from": None if code in parts else _day(row["valid_from"]),
            "valid_until": None,
            "note": "Formed 2025-07-01 from " + ", ".join(parts) if len(parts) > 1 else None,
        }
    for extra in _EXTRA_AGENCIES:
        agencies[extra["code"]] = dict(extra)
    successions.extend(_EXTRA_SUCCESSIONS)
    for pred, succ, _, _ in successions:
        if pred not in agencies or succ not in agencies:
            raise ValueError(f"succession {pred}->{succ} names an unknown agency")
    return RegistrySeed(list(agencies.values()), successions)


async def seed_registry(session: AsyncSession) -> int:
    """Insert or refresh the reference agencies and successions. Returns agencies written."""
    seed = load_registry_seed()
    existing = set((await session.execute(sa.select(col(Agency.code)))).scalars())
    for agency in seed.agencies:
        if agency["code"] in existing:
            await session.execute(
                sa.update(Agency).where(Agency.code == agency["code"]).values(**agency)
            )
        else:
            session.add(Agency(**agency))
    await session.flush()
    links = set(
        await session.execute(
            sa.select(AgencySuccession.predecessor_code, AgencySuccession.successor_code)
        )
    )
    for pred, succ, on, note in seed.successions:
        if (pred, succ) not in links:
            session.add(
                AgencySuccession(
                    predecessor_code=pred, successor_code=succ, effective_on=on, note=note
                )
            )
    await session.flush()
    return len(seed.agencies)


@dataclass(frozen=True, slots=True)
class AgencyGraph:
    """An in-memory view of the registry (a few hundred rows), for roll-ups and lookups."""

    agencies: dict[str, Agency]
    predecessors: dict[str, frozenset[str]]
    successors: dict[str, frozenset[str]]

    def exists(self, code: str) -> bool:
        return code in self.agencies

    def valid_on(self, code: str, day: date) -> bool:
        agency = self.agencies[code]
        return (agency.valid_from is None or agency.valid_from <= day) and (
            agency.valid_until is None or day <= agency.valid_until
        )

    def as_of(self, day: date) -> list[Agency]:
        return [a for code, a in self.agencies.items() if self.valid_on(code, day)]

    def rolled_up(self, code: str) -> frozenset[str]:
        """``code`` and every agency it replaced, transitively: the owners to include when a
        caller filters by ``code``."""
        seen = {code}
        stack = [code]
        while stack:
            for pred in self.predecessors.get(stack.pop(), ()):
                if pred not in seen:
                    seen.add(pred)
                    stack.append(pred)
        return frozenset(seen)

    def current_successors(self, code: str, today: date) -> frozenset[str]:
        """The agencies in force on ``today`` that ``code`` rolls up to (itself if in force)."""
        if self.valid_on(code, today):
            return frozenset({code})
        result: set[str] = set()
        for succ in self.successors.get(code, ()):
            result |= self.current_successors(succ, today)
        return frozenset(result)


async def load_agency_graph(session: AsyncSession) -> AgencyGraph:
    agencies = {a.code: a for a in (await session.execute(sa.select(Agency))).scalars()}
    preds: dict[str, set[str]] = defaultdict(set)
    succs: dict[str, set[str]] = defaultdict(set)
    rows = await session.execute(
        sa.select(AgencySuccession.predecessor_code, AgencySuccession.successor_code)
    )
    for pred, succ in rows:
        preds[succ].add(pred)
        succs[pred].add(succ)
    return AgencyGraph(
        agencies,
        {k: frozenset(v) for k, v in preds.items()},
        {k: frozenset(v) for k, v in succs.items()},
    )


# --- codes in records -----------------------------------------------------------------------

MAX_SUGGESTIONS = 3
_LEVEL_LABELS = {
    "provincial": ("Mã tỉnh", "Province code"),
    "central": ("Mã cơ quan trung ương", "Central agency code"),
}
# A value that looks like a code (digits, capitals, dots: "99", "G16", "000.00.00.G16"); any
# other is matched against the names.
_CODE_LIKE = re.compile(r"[0-9A-Z.]{1,40}")
# Words a province's name starts with that a person leaves out ("Hà Nội", not "Thành phố
# Hà Nội"), folded.
_NAME_PREFIXES = ("thanh pho ", "tinh ")


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (codes and names are short: the quadratic table is fine)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = row
    return previous[-1]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for ca, cb in zip(a, b, strict=False):
        if ca != cb:
            break
        n += 1
    return n


def _bare_name(folded: str) -> str:
    for prefix in _NAME_PREFIXES:
        if folded.startswith(prefix):
            return folded[len(prefix):]
    return folded


@dataclass(frozen=True, slots=True)
class CodeProblem:
    code: str  # "unknown_code" | "superseded_code" | "code_not_yet_valid"
    message_vi: str
    message_en: str


class CodeRegistry:
    """Checks the agency and province codes in records against the dated registry.

    Built once per :class:`AgencyGraph` (the catalog's cache: a new graph when the registry
    reloads), so a record's check is a dictionary look-up and two date comparisons; the
    suggestions for an unknown code are computed only on failure.
    """

    def __init__(self, graph: AgencyGraph) -> None:
        self.graph = graph
        self._by_level: dict[str, list[Agency]] = defaultdict(list)
        for agency in sorted(graph.agencies.values(), key=lambda a: a.code):
            self._by_level[agency.level].append(agency)
            self._by_level[""].append(agency)
        self._folded = {
            code: _bare_name(schemas.fold(agency.name)) for code, agency in graph.agencies.items()
        }

    def check(self, level: str, value: str, day: date) -> CodeProblem | None:
        """None when ``value`` names an agency of ``level`` in force on ``day``.

        A former agency is valid for the days before it ceased; after, the problem names the
        agencies it rolled up to (the ones to use). An unknown code gets the nearest ones."""
        agency = self.graph.agencies.get(value)
        if agency is not None and (not level or agency.level == level):
            if self.graph.valid_on(value, day):
                return None
            return self._not_in_force(level, agency, day)
        label_vi, label_en = _LEVEL_LABELS.get(level, ("Mã cơ quan", "Agency code"))
        shown = value if len(value) <= 40 else value[:39] + "…"
        near = self.nearest(level, value, day)
        listed = ", ".join(f"{a.code} ({a.name})" for a in near)
        return CodeProblem(
            "unknown_code",
            f"{label_vi} '{shown}' không có trong danh mục"
            + (f"; gần nhất: {listed}" if listed else "") + ".",
            f"{label_en} '{shown}' is not in the registry"
            + (f"; nearest: {listed}" if listed else "") + ".",
        )

    def _not_in_force(self, level: str, agency: Agency, day: date) -> CodeProblem:
        label_vi, label_en = _LEVEL_LABELS.get(level, ("Mã cơ quan", "Agency code"))
        name = f"'{agency.code}' ({agency.name})"
        if agency.valid_until is not None and day > agency.valid_until:
            use = sorted(self.graph.current_successors(agency.code, day))
            listed = ", ".join(f"{c} ({self.graph.agencies[c].name})" for c in use)
            ended = agency.valid_until.isoformat()
            return CodeProblem(
                "superseded_code",
                f"{label_vi} {name} chỉ có hiệu lực đến {ended}; với ngày {day.isoformat()} "
                + (f"hãy dùng {listed}." if listed else "không có đơn vị kế thừa."),
                f"{label_en} {name} was in force until {ended}; for {day.isoformat()} "
                + (f"use {listed}." if listed else "it has no successor."),
            )
        start = agency.valid_from.isoformat() if agency.valid_from else "?"
        before = sorted(
            p for p in self.graph.rolled_up(agency.code) - {agency.code}
            if self.graph.valid_on(p, day)
        )
        listed = ", ".join(f"{c} ({self.graph.agencies[c].name})" for c in before)
        return CodeProblem(
            "code_not_yet_valid",
            f"{label_vi} {name} có hiệu lực từ {start}; với ngày {day.isoformat()} "
            + (f"hãy dùng {listed}." if listed else "mã này chưa tồn tại."),
            f"{label_en} {name} is in force from {start}; for {day.isoformat()} "
            + (f"use {listed}." if listed else "the code did not exist yet."),
        )

    def nearest(self, level: str, value: str, day: date) -> list[Agency]:
        """Up to three agencies of ``level`` in force on ``day`` nearest to ``value``: by edit
        distance of the codes (a shared prefix first, then the closest number), or, for a
        value with letters, by its name ignoring diacritics and case ("ha giang")."""
        candidates = [a for a in self._by_level.get(level, ()) if self.graph.valid_on(a.code, day)]
        if not candidates:
            candidates = list(self._by_level.get(level, ()))
        text = value.strip()
        if not _CODE_LIKE.fullmatch(text):
            folded = _bare_name(schemas.fold(text))

            def by_name(agency: Agency) -> tuple[int, int, str]:
                name = self._folded[agency.code]
                if name == folded:
                    return (0, 0, agency.code)
                if folded and folded in name:
                    return (1, len(name) - len(folded), agency.code)
                return (2, _edit_distance(folded, name), agency.code)

            ranked = sorted(candidates, key=by_name)
            return ranked[:MAX_SUGGESTIONS]
        key = text

        def by_code(agency: Agency) -> tuple[int, int, int, str]:
            code = agency.code
            numeric = (abs(int(code) - int(key)) if code.isdigit() and key.isdigit()
                       else 0)
            return (_edit_distance(key, code), -_common_prefix(key, code), numeric, code)

        return sorted(candidates, key=by_code)[:MAX_SUGGESTIONS]
