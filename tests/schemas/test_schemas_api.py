import json
from datetime import UTC, datetime
from uuid import uuid4

import schemas
from schemas import (
    RECORD_TYPES,
    FieldProblem,
    ImportSummary,
    RecordEnvelope,
    Rejection,
    export_json_schemas,
)


def test_public_names_pinned() -> None:
    assert schemas.__all__ == [
        "CONTROL_CHARACTERS", "HUB_OWNED_FIELDS", "NOT_CONTENT", "RECORD_TYPES",
        "STANDARD_VERSION", "TEXT_CONTROL", "Award",
        "Budget", "BudgetItem", "Event",
        "FieldProblem", "FileMeta", "ImportSummary", "Link", "LongText", "Material", "Plan",
        "Product",
        "Provenance", "RecordContent", "RecordEnvelope", "RecordType", "RecordTypeName",
        "Rejection", "Report", "ShortText", "Target", "Text", "TrainingCourse", "Visibility",
        "VocabularySeed", "VocabularyTerm", "check_vocabularies", "content_dict", "content_hash",
        "custom_error", "export_json_schemas", "fold", "hash_data",
        "is_number",  # one number test for the ISO date/time checks (hub, gateway: issue 19)
        "isbn_is_valid",
        "load_vocabulary_seed", "nfc",
        "parse_vnd",
        "problem_from_error", "problems_from_validation_error",
        "refuse_unix_time",  # the ISO date/time before-validator, shared with hub's bodies
        "split_envelope", "vocab_refs",
        "vocabulary_codes",
    ]
    for name in schemas.__all__:
        assert hasattr(schemas, name), name


def test_json_schema_export() -> None:
    exported = export_json_schemas()
    for name, rt in RECORD_TYPES.items():
        schema = exported[f"{name}.input.schema.json"]
        assert schema["title"] == rt.model.__name__
        assert schema["additionalProperties"] is False
        assert "source_id" in schema["required"] and "title" in schema["required"]
    assert len([n for n in exported if n.endswith(".input.schema.json")]) == len(RECORD_TYPES)
    assert "record.envelope.schema.json" in exported
    assert "import.summary.schema.json" in exported
    json.dumps(exported)  # plain JSON all the way down


def test_envelope_and_summary_models() -> None:
    now = datetime.now(UTC)
    env = RecordEnvelope(
        id=uuid4(), type="events", owner_agency="G08", source_id="HB-1", version=1,
        content_hash="0" * 64, created_at=now, updated_at=now, visibility="shared",
        provenance={"channel": "push", "client": "g08-system"}, data={"title": "Họp báo"},
    )
    assert env.model_dump(mode="json")["provenance"] == {
        "channel": "push", "client": "g08-system", "batch": None, "source_updated_at": None
    }
    problem = FieldProblem("title", "missing", "Thiếu trường bắt buộc", "Field required")
    summary = ImportSummary(created=1, rejected=1,
                            rejections=[Rejection.from_problem(3, "X-1", problem)])
    assert summary.model_dump()["rejections"][0]["index"] == 3
    assert summary.dry_run is False
