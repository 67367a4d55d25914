"""The committed contracts in openapi/ are what the code generates."""

from __future__ import annotations

from pathlib import Path

from gateway._contracts import drifted_contracts

ROOT = Path(__file__).resolve().parent.parent


def test_contracts_are_current() -> None:
    drift = drifted_contracts(ROOT / "openapi")
    assert drift == [], f"run `rightshub export-contracts`; drifted: {drift}"


def test_readme_lists_every_record_type_with_its_rest_path_and_graphql_field() -> None:
    import re
    from pathlib import Path

    import schemas

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    graphql = (Path(__file__).resolve().parents[1] / "openapi" / "schema.graphql").read_text(
        encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| ([a-z-]+) \|.*$", readme, re.M)}
    for name, record_type in schemas.RECORD_TYPES.items():
        row = rows[name]
        assert f"`/v1/{name}`" in row and f"POST /v1/{name}:batch" in row
        assert record_type.label_vi in row
        field = re.search(r"^\| [a-z-]+ \|[^|]+\|[^|]+\| `(\w+)`", row, re.M)
        assert field and re.search(rf"^  {field.group(1)}\(", graphql, re.M), row
