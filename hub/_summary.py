"""What every way in answers: the import summary, with per-record rejections in Vietnamese
and English; and the idempotency types that let a retried batch return its first answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from hub._errors import InvalidInput


@dataclass(slots=True)
class Rejection:
    index: int
    source_id: str | None
    path: str
    code: str
    message_vi: str
    message_en: str

    def __post_init__(self) -> None:
        # A source_id or field name echoed from the input may hold NUL, which PostgreSQL
        # cannot store (the summary is kept for Idempotency-Key replays): U+FFFD stands in.
        if self.source_id is not None:
            self.source_id = self.source_id.replace("\x00", "\ufffd")
        self.path = self.path.replace("\x00", "\ufffd")
        self.message_vi = self.message_vi.replace("\x00", "\ufffd")
        self.message_en = self.message_en.replace("\x00", "\ufffd")

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "source_id": self.source_id,
            "path": self.path,
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


BatchStatus = Literal["ok", "partial", "rejected"]


@dataclass(slots=True)
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    dry_run: bool = False
    rejections: list[Rejection] = field(default_factory=list)
    # Valid records not written because the batch was atomic and others were rejected.
    ignored: int = 0

    def add(self, other: ImportSummary) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.rejected += other.rejected
        self.ignored += other.ignored
        self.rejections.extend(other.rejections)

    @property
    def status(self) -> BatchStatus:
        """``ok``: nothing rejected (a re-push of unchanged records too); ``partial``: some
        records rejected, others created, updated, unchanged or deleted; ``rejected``: records
        rejected and none of the others taken (all rejected, or an atomic batch)."""
        if not self.rejected and not self.rejections:
            return "ok"
        if self.created or self.updated or self.unchanged or self.deleted:
            return "partial"
        return "rejected"

    @property
    def http_status(self) -> int:
        """What the batch answers: 422 when nothing was taken, else 200."""
        return 422 if self.status == "rejected" else 200

    def make_atomic(self) -> None:
        """All or nothing: with a rejection, the records that were valid are not written
        (``ignored``) and the batch is ``rejected``."""
        if self.rejections:
            self.ignored += self.created + self.updated + self.unchanged + self.deleted
            self.created = self.updated = self.unchanged = self.deleted = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "rejected": self.rejected,
            "ignored": self.ignored,
            "dry_run": self.dry_run,
            "rejections": [r.as_dict() for r in self.rejections],
        }


@dataclass(frozen=True, slots=True)
class IdempotencyRequest:
    """A caller's ``Idempotency-Key`` and the hash of the request it was first used with."""

    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status_code: int
    body: dict[str, Any]


class IdempotencyMismatch(InvalidInput):
    status = 422
    type_slug = "idempotency-key-reused"
    title_vi = "Idempotency-Key đã được dùng cho yêu cầu khác"
    title_en = "Idempotency-Key reused with a different request"


def request_hash(*parts: bytes | str) -> str:
    """A digest of the request an Idempotency-Key was first used with."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()
