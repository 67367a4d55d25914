"""Generated contracts in ``openapi/``: the OpenAPI document, the GraphQL schema (SDL) and
the data standard's JSON Schemas. ``rightshub export-contracts`` writes them; a test fails
when they drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

import schemas
from hub import Settings

CONTRACTS_DIR = Path("openapi")


def _dump(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def bundle_manifest_schema() -> dict[str, Any]:
    """manifest.json of an offline exchange bundle (format v1, docs/exchange-api.md)."""
    from connectors import BundleManifest

    schema = BundleManifest.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "bundle.manifest.schema.json",
            "$comment": "RightsHub offline exchange bundle, format v1", **schema}


def render_contracts() -> dict[str, bytes]:
    """Relative path -> file content, deterministic."""
    from gateway.app import create_app
    from gateway.graphql import print_sdl

    app = create_app(Settings(environment="test"))
    files = {"openapi.json": _dump(app.openapi())}
    for name, schema in schemas.export_json_schemas().items():
        files[f"json-schema/{name}"] = _dump(schema)
    files["json-schema/bundle.manifest.schema.json"] = _dump(bundle_manifest_schema())
    files["schema.graphql"] = print_sdl().encode()
    return files


def write_contracts(directory: Path = CONTRACTS_DIR) -> list[Path]:
    written = []
    for relative, content in render_contracts().items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


def drifted_contracts(directory: Path = CONTRACTS_DIR) -> list[str]:
    """Files that differ from what the code generates (or are missing or left over)."""
    expected = render_contracts()
    drift = [rel for rel, content in expected.items()
             if not (directory / rel).is_file() or (directory / rel).read_bytes() != content]
    if (directory / "json-schema").is_dir():
        drift += [
            f"json-schema/{p.name}" for p in (directory / "json-schema").glob("*.json")
            if f"json-schema/{p.name}" not in expected
        ]
    return sorted(drift)
