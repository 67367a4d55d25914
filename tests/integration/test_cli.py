"""The ``rightshub`` command line as a person runs it, with ``RIGHTSHUB_DATABASE_URL`` set:
the installed executable as a subprocess for the first upgrade and seed (the entry point),
the other commands in this process with the same environment (tests/_cli.py). Migrate and
seed a fresh SQLite database, import NDJSON, CSV (UTF-8 BOM, ``;`` lists, dd/mm/yyyy dates)
and XLSX files with a few bad rows, dry runs, re-imports, the contracts check; and the same
import flow on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub import Hub
from tests._cli import run_cli
from tests.conftest import _clean
from tests.integration import REPO, RIGHTSHUB, child_env

DEMO_RECORDS = 152  # what `seed --demo` loads (hub._seed.seed_demo, seed 1079)


@dataclass
class Run:
    code: int
    out: str

    def counts(self) -> dict[str, int]:
        """The import summary table: created, updated, unchanged, deleted, rejected."""
        lines = self.out.splitlines()
        header = next(i for i, line in enumerate(lines)
                      if "created" in line and "rejected" in line)
        names = [c.strip() for c in lines[header].strip("┃ ").split("┃")]
        values = next(line for line in lines[header + 1:] if line.startswith("│"))
        return dict(zip(names, (int(v) for v in values.strip("│ ").split("│")), strict=True))

    def rejected_rows(self) -> dict[int, list[str]]:
        """row number -> [source_id, field, Vietnamese message, English message]."""
        lines = self.out.splitlines()
        start = next(i for i, line in enumerate(lines) if "Rejected rows" in line)
        rows: dict[int, list[str]] = {}
        for line in lines[start:]:
            if line.startswith("│"):
                cells = [c.strip() for c in line.strip("│").split("│")]
                rows[int(cells[0])] = cells[1:]
        return rows


def rightshub(*args: str, database_url: str, cwd: Path, process: bool = False) -> Run:
    """``rightshub ARGS`` with that database: in this process (tests/_cli.py: the same
    environment and working directory, without 1-3 s of interpreter start and imports), or
    with ``process`` as the installed ``rightshub`` executable, as a person runs it."""
    if not process:
        done = run_cli(args, env=child_env(database_url=database_url), cwd=cwd)
        return Run(done.returncode, done.stdout + done.stderr)
    result = subprocess.run(
        [RIGHTSHUB, *args], cwd=cwd, env=child_env(database_url=database_url),
        capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
    )
    return Run(result.returncode, result.stdout + result.stderr)


# --- the files: valid rows and bad rows, numbered as a person sees them ----------------------

def product(source_id: str, title: str, **extra: Any) -> dict[str, Any]:
    return {"source_id": source_id, "kind": "book", "title": title, "languages": ["vie"],
            **extra}


def write_ndjson(path: Path) -> dict[int, tuple[str, str]]:
    lines = [
        json.dumps(product("ND-001", "Hỏi đáp về quyền con người", themes=["vn_policy_law"]),
                   ensure_ascii=False),
        json.dumps(product("ND-002", "Quyền trẻ em", published_on="2025-06-01")),
        "",  # a blank line still counts in the editor
        '{"source_id": "ND-BAD", "title": ',
        json.dumps(product("ND-003", "Loại sai", kind="nope")),
        json.dumps(product("ND-004", "Sách điện tử", kind="ebook")),
        json.dumps(product("ND-005", "Ngôn ngữ sai", languages=["xx"])),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # line -> (part of the Vietnamese message, part of the English one)
    return {4: ("Dòng 4 không phải JSON hợp lệ", "Line 4 is not valid JSON"),
            5: ("không có trong danh mục", "is not in the 'product_kind' vocabulary"),
            7: ("", "")}


def write_csv(path: Path) -> dict[int, tuple[str, str]]:
    text = (
        "source_id,kind,title,languages,themes,published_on,description\r\n"
        'CSV-001,book,"Quyền con người, tập 1",vie; eng,vn_policy_law;achievements,01/07/2025,\r\n'
        'CSV-002,ebook,Sách có mô tả,vie,,15/9/2024,"Dòng một\r\ndòng hai"\r\n'
        "CSV-003,nope,Loại sai,vie,,,\r\n"
        "CSV-004,book,Ngày sai,vie,,31/02/2025,\r\n"
        "CSV-005,book,Ngôn ngữ sai,xx,,,\r\n"
        "CSV-006,video,Video quyền trẻ em,vie,rights_children,02/09/2025,\r\n"
        'CSV-007,nope,Hai dòng,vie,,,"Dòng một\r\ndòng hai"\r\n'  # lines 9-10: reported as 9
        "CSV-008,book,Ngôn ngữ sai,vie;zz,,,\r\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # as Excel saves "CSV UTF-8"
    kind = ("không có trong danh mục", "is not in the 'product_kind' vocabulary")
    return {5: kind, 6: ("", ""), 7: ("", ""), 9: kind, 11: ("", "")}


def write_xlsx(path: Path) -> dict[int, tuple[str, str]]:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["source_id", "kind", "title", "languages", "themes", "published_on",
                  "publication_year"])
    sheet.append(["XL-001", "book", "Quyền con người trong Hiến pháp", "vie;eng",
                  "vn_policy_law", datetime(2025, 7, 1), None])
    sheet.append(["XL-002", "ebook", "Sách điện tử", "vie", None, "15/09/2024", None])
    sheet.append([None] * 7)  # an empty row is skipped, numbering goes on
    sheet.append(["XL-003", "book", None, "vie", None, None, None])
    sheet.append(["XL-004", "book", "Năm sai", "vie", None, None, "abc"])
    sheet.append(["XL-005", "book", "Sách năm 2024", "vie", None, None, 2024])
    workbook.save(path)
    return {5: ("", ""), 6: ("", "")}


FILES: dict[str, tuple[str, Callable[[Path], dict[int, tuple[str, str]]], int]] = {
    # format: (source_id prefix, writer, valid rows)
    "ndjson": ("ND-", write_ndjson, 3),
    "csv": ("CSV-", write_csv, 3),
    "xlsx": ("XL-", write_xlsx, 3),
}


def check_rejections(run: Run, expected: dict[int, tuple[str, str]]) -> None:
    rows = run.rejected_rows()
    assert sorted(rows) == sorted(expected), run.out
    for line, (vi, en) in expected.items():
        _source_id, _field, message_vi, message_en = rows[line]
        assert message_vi and message_en and message_vi != message_en, run.out
        assert vi in message_vi and en in message_en, run.out


# --- SQLite: a fresh database file ----------------------------------------------------------

@dataclass
class Fresh:
    url: str
    path: Path
    cwd: Path
    upgrade: Run
    seeds: list[Run]

    def count(self, prefix: str) -> int:
        with sqlite3.connect(self.path) as connection:
            (n,) = connection.execute(
                "SELECT count(*) FROM records WHERE source_id LIKE ?", (prefix + "%",)
            ).fetchone()
        return int(n)

    def record(self, source_id: str) -> dict[str, Any]:
        with sqlite3.connect(self.path) as connection:
            (data,) = connection.execute(
                "SELECT data FROM records WHERE source_id = ?", (source_id,)
            ).fetchone()
        return dict(json.loads(data))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Fresh:
    cwd = tmp_path_factory.mktemp("cli")
    path = cwd / "hub.db"
    url = f"sqlite:///{path}"
    upgrade = rightshub("db", "upgrade", database_url=url, cwd=cwd, process=True)
    seeds = [rightshub("seed", "--demo", database_url=url, cwd=cwd, process=i == 0)
             for i in range(2)]
    return Fresh(url, path, cwd, upgrade, seeds)


def test_upgrade_and_seed_demo_twice(fresh: Fresh) -> None:
    assert fresh.upgrade.code == 0, fresh.upgrade.out
    assert "Database upgraded to head" in fresh.upgrade.out
    first, second = fresh.seeds
    assert first.code == 0 and second.code == 0, first.out + second.out
    assert f"Demo data: {DEMO_RECORDS} created, 0 updated, 0 unchanged, 0 rejected." in first.out
    assert "0 new vocabulary terms" not in first.out
    assert (f"Demo data: 0 created, 0 updated, {DEMO_RECORDS} unchanged, 0 rejected."
            in second.out)
    assert "0 new vocabulary terms" in second.out
    assert not (fresh.cwd / "var").exists()  # the database went where the URL said


@pytest.mark.parametrize("fmt", list(FILES))
def test_import_file_reports_counts_and_bad_rows(fresh: Fresh, fmt: str) -> None:
    prefix, write, valid = FILES[fmt]
    path = fresh.cwd / f"products.{fmt}"
    expected = write(path)
    run = rightshub("import", str(path), "-t", "products", "-a", "G16",
                    database_url=fresh.url, cwd=fresh.cwd)
    assert run.code == 1, run.out
    assert run.counts() == {"created": valid, "updated": 0, "unchanged": 0, "deleted": 0,
                            "rejected": len(expected)}
    check_rejections(run, expected)
    assert fresh.count(prefix) == valid

    if fmt == "csv":  # BOM, ; lists, dd/mm/yyyy dates, a quoted multi-line cell
        first_row = fresh.record("CSV-001")
        assert first_row["title"] == "Quyền con người, tập 1"
        assert first_row["languages"] == ["vie", "eng"]
        assert first_row["themes"] == ["vn_policy_law", "achievements"]
        assert first_row["published_on"] == "2025-07-01"
        second_row = fresh.record("CSV-002")
        assert second_row["published_on"] == "2024-09-15"
        assert second_row["description"].splitlines() == ["Dòng một", "dòng hai"]
    if fmt == "xlsx":
        assert fresh.record("XL-001")["published_on"] == "2025-07-01"
        assert fresh.record("XL-001")["languages"] == ["vie", "eng"]
        assert fresh.record("XL-002")["published_on"] == "2024-09-15"


def test_dry_run_writes_nothing_and_reimport_is_unchanged(fresh: Fresh) -> None:
    path = fresh.cwd / "good.ndjson"
    path.write_text("".join(json.dumps(product(f"DR-{i}", f"Sách tốt {i}"),
                                       ensure_ascii=False) + "\n" for i in range(2)),
                    encoding="utf-8")
    args = ("import", str(path), "-t", "products", "-a", "G16")
    totals = {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0, "rejected": 0}

    dry = rightshub(*args, "--dry-run", database_url=fresh.url, cwd=fresh.cwd)
    assert dry.code == 0, dry.out  # nothing rejected: success
    assert dry.counts() == {**totals, "created": 2}
    assert "Rejected rows" not in dry.out
    assert fresh.count("DR-") == 0

    first = rightshub(*args, database_url=fresh.url, cwd=fresh.cwd)
    assert first.code == 0 and first.counts() == {**totals, "created": 2}, first.out
    assert fresh.count("DR-") == 2

    again = rightshub(*args, database_url=fresh.url, cwd=fresh.cwd)
    assert again.code == 0 and again.counts() == {**totals, "unchanged": 2}, again.out
    assert fresh.count("DR-") == 2


def test_export_contracts_check_passes() -> None:
    # Run in the repository: the contracts live in ./openapi. The database is not touched.
    run = rightshub("export-contracts", "--check", database_url="sqlite:///:memory:", cwd=REPO)
    assert run.code == 0, run.out
    assert "Contracts are current." in run.out


# --- PostgreSQL: the session's fixture database ---------------------------------------------

@pytest.mark.anyio
async def test_cli_on_postgresql(hub: Hub, database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite is covered by the tests above")

    async def count(prefix: str) -> int:
        async with hub.db.session() as session:
            result = await session.execute(
                sa.text("SELECT count(*) FROM records WHERE source_id LIKE :p"), {"p": prefix + "%"}
            )
            return int(result.scalar_one())

    try:
        upgrade = rightshub("db", "upgrade", database_url=database_url, cwd=tmp_path)
        assert upgrade.code == 0, upgrade.out
        first = rightshub("seed", "--demo", database_url=database_url, cwd=tmp_path)
        assert f"Demo data: {DEMO_RECORDS} created" in first.out, first.out
        second = rightshub("seed", "--demo", database_url=database_url, cwd=tmp_path)
        assert f"0 created, 0 updated, {DEMO_RECORDS} unchanged, 0 rejected" in second.out

        # File parsing does not depend on the database: one format (the CSV) is enough here.
        prefix, write, valid = FILES["csv"]
        path = tmp_path / "products.csv"
        expected = write(path)
        args = ("import", str(path), "-t", "products", "-a", "G16")
        dry = rightshub(*args, "--dry-run", database_url=database_url, cwd=tmp_path)
        assert dry.code == 1 and dry.counts()["created"] == valid, dry.out
        assert await count(prefix) == 0
        run = rightshub(*args, database_url=database_url, cwd=tmp_path)
        assert run.code == 1, run.out
        assert run.counts() == {"created": valid, "updated": 0, "unchanged": 0, "deleted": 0,
                                "rejected": len(expected)}
        check_rejections(run, expected)
        assert await count(prefix) == valid
        again = rightshub(*args, database_url=database_url, cwd=tmp_path)
        assert again.code == 1 and again.counts()["unchanged"] == valid, again.out
        assert await count(prefix) == valid
    finally:
        await _clean(hub)
