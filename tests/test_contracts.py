"""The committed contracts in openapi/ are what the code generates."""

from __future__ import annotations

from pathlib import Path

from gateway._contracts import drifted_contracts

ROOT = Path(__file__).resolve().parent.parent


def test_contracts_are_current() -> None:
    drift = drifted_contracts(ROOT / "openapi")
    assert drift == [], f"run `rightshub export-contracts`; drifted: {drift}"
