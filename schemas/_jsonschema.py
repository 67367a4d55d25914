"""Output models shared by every way out (envelope, import summary) and JSON Schema export."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ._problems import FieldProblem
from ._records import STANDARD_VERSION, Visibility
from ._registry import RECORD_TYPES, RecordTypeName

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


class Provenance(_Out):
    """How the current version of a record reached the hub."""

    channel: Literal["push", "pull", "file", "graphql"]
    client: str | None = None
    batch: str | None = None
    source_updated_at: datetime | None = Field(
        default=None,
        description="The source system's own last-update time (v1.1): from the pushed item, "
        "or from the pull connector's replication key or declared field.",
    )


class FileMeta(_Out):
    """A file of the product archive attached to a record (the bytes are served at
    ``/v1/files/{id}/content`` under the record's access policy)."""

    id: UUID
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    media_type: str = Field(description="Checked from the file's bytes, not taken on trust.")
    name: str = Field(description="The original file name (metadata only).")
    language: str | None = None
    role: Literal["main", "cover", "subtitles", "slides", "transcript"]
    attached_at: datetime


class RecordEnvelope(_Out):
    """A stored record as the hub serves it: hub-owned fields plus the agency's `data`."""

    id: UUID
    type: RecordTypeName
    owner_agency: str
    source_id: str
    version: int = Field(ge=1)
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: datetime
    updated_at: datetime
    deleted: bool = False
    visibility: Visibility
    provenance: Provenance
    data: dict[str, Any]
    files: list[FileMeta] = Field(
        default=[], description="The record's archived files (empty for a deleted record)."
    )


class Rejection(_Out):
    """One rejected field of one record in a batch."""

    index: int = Field(ge=0)
    source_id: str | None = None
    path: str
    code: str
    message_vi: str
    message_en: str

    @classmethod
    def from_problem(cls, index: int, source_id: str | None, problem: FieldProblem) -> Rejection:
        return cls(index=index, source_id=source_id, path=problem.path, code=problem.code,
                   message_vi=problem.message_vi, message_en=problem.message_en)


class ImportSummary(_Out):
    """The answer to every batch import, whatever the way in."""

    status: Literal["ok", "partial", "rejected"] = Field(
        default="ok",
        description="ok: no record rejected; partial: some rejected, the others taken; "
        "rejected: records rejected and nothing taken (REST answers 422).",
    )
    created: int = Field(default=0, ge=0)
    updated: int = Field(default=0, ge=0)
    unchanged: int = Field(default=0, ge=0)
    deleted: int = Field(default=0, ge=0)
    rejected: int = Field(default=0, ge=0)
    ignored: int = Field(
        default=0, ge=0,
        description="Valid records not written because the batch was atomic and others "
        "were rejected.",
    )
    dry_run: bool = False
    rejections: list[Rejection] = Field(default_factory=list)


def _with_dialect(schema: dict[str, Any], schema_id: str) -> dict[str, Any]:
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": schema_id,
            "$comment": f"RightsHub data standard v{STANDARD_VERSION}", **schema}


def export_json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema: `<type>.input.schema.json` per record type, plus
    `record.envelope.schema.json` and `import.summary.schema.json`."""
    out = {
        f"{name}.input.schema.json": rt.model.model_json_schema()
        for name, rt in RECORD_TYPES.items()
    }
    out["record.envelope.schema.json"] = RecordEnvelope.model_json_schema(mode="serialization")
    out["import.summary.schema.json"] = ImportSummary.model_json_schema(mode="serialization")
    return {name: _with_dialect(schema, name) for name, schema in out.items()}
