"""Response models of the REST API that are not part of the data standard itself."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas import FileMeta, RecordEnvelope


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordPage(_Out):
    items: list[RecordEnvelope]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class ChangedRecord(_Out):
    """The record as of this change (content omitted for a withdrawal)."""

    id: str
    type: str
    owner_agency: str
    source_id: str
    version: int
    content_hash: str
    updated_at: datetime
    deleted: bool
    visibility: Literal["private", "shared", "public"]
    provenance: dict[str, Any]
    data: dict[str, Any]
    files: list[FileMeta] = Field(default=[], description="The version's archived files.")


class Change(_Out):
    seq: int
    op: Literal["upsert", "delete", "withdraw"] = Field(
        description="withdraw: the record became private; drop your copy."
    )
    record: ChangedRecord


class ChangePage(_Out):
    changes: list[Change]
    next_cursor: str = Field(description="Pass as `after` to continue; store it to resume.")
    has_more: bool


class AgencyOut(_Out):
    code: str
    name: str
    kind: str
    level: Literal["central", "provincial", "local", "other"]
    valid_from: date | None
    valid_until: date | None
    note: str | None
    in_force: bool
    predecessors: list[str]
    successors: list[str]


class AgencyList(_Out):
    as_of: date
    items: list[AgencyOut]


class TermOut(_Out):
    code: str
    label_vi: str
    label_en: str
    group: str | None
    active: bool


class VocabularyOut(_Out):
    name: str
    label_vi: str
    label_en: str
    version: int
    provisional: bool
    terms: list[TermOut]


class Problem(BaseModel):
    """RFC 9457 problem details, with the message in Vietnamese and English."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    title_vi: str
    title_en: str
    detail_vi: str
    detail_en: str
    instance: str | None = None
    request_id: str | None = None
