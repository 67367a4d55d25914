"""Standard v1.1 is backwards compatible: every 1.0 example validates against the v1.1
models and exported JSON Schemas; the new fields are typed, optional, and kept out of the
content hash (source_updated_at is provenance)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

import schemas
from tests.schemas.test_schemas_records import EXAMPLES

SCHEMAS = schemas.export_json_schemas()


def _as_schema_wants(document: dict[str, Any]) -> dict[str, Any]:
    """The model upper-cases a country code before checking it; the JSON Schema (the pattern
    alone) wants it upper-case already."""
    if isinstance(document.get("country"), str):
        return {**document, "country": document["country"].upper()}
    return document


def test_version_is_declared_and_exported() -> None:
    assert schemas.STANDARD_VERSION == "1.1"
    assert all(s["$comment"] == "RightsHub data standard v1.1" for s in SCHEMAS.values())


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_1_0_document_is_valid_1_1(name: str) -> None:
    document = EXAMPLES[name]
    assert "cost_vnd" not in document and "source_updated_at" not in document
    jsonschema.validate(_as_schema_wants(document), SCHEMAS[f"{name}.input.schema.json"])
    schemas.RECORD_TYPES[name].model.model_validate(document)


@pytest.mark.parametrize("name", ["products", "training-courses", "events"])
def test_cost_vnd_where_the_standard_has_it(name: str) -> None:
    model = schemas.RECORD_TYPES[name].model
    document = _as_schema_wants({**EXAMPLES[name], "cost_vnd": 1_250_000})
    jsonschema.validate(document, SCHEMAS[f"{name}.input.schema.json"])
    assert model.model_validate(document).model_dump()["cost_vnd"] == 1_250_000
    for bad in (-1, 1.5, "1.250.000"):
        with pytest.raises(ValidationError):
            model.model_validate({**document, "cost_vnd": bad})
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**document, "cost_vnd": bad},
                                SCHEMAS[f"{name}.input.schema.json"])


def test_cost_vnd_not_on_other_types() -> None:
    with pytest.raises(ValidationError):
        schemas.Award.model_validate({**EXAMPLES["awards"], "cost_vnd": 1})


def test_source_updated_at_is_provenance_not_content() -> None:
    document: dict[str, Any] = EXAMPLES["events"]
    plain = schemas.Event.model_validate(document)
    stamped = schemas.Event.model_validate(
        {**document, "source_updated_at": "2025-03-01T10:15:00+07:00"})
    assert stamped.source_updated_at is not None
    assert stamped.source_updated_at.utcoffset() is not None
    assert schemas.content_hash(plain) == schemas.content_hash(stamped)
    assert "source_updated_at" not in schemas.split_envelope(stamped)[2]
    with pytest.raises(ValidationError):  # an offset is required
        schemas.Event.model_validate({**document, "source_updated_at": "2025-03-01T10:15:00"})
