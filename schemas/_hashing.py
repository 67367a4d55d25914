"""Canonical content hashing: equal content gives an equal hash, whatever the key order."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel

NOT_CONTENT = frozenset({"source_updated_at"})
"""Input fields that are not content: they go to the provenance and change no hash."""


def content_dict(model: BaseModel) -> dict[str, Any]:
    """The JSON-mode content the hub stores as `data`: everything but source_id, visibility
    and source_updated_at (provenance, not content)."""
    return model.model_dump(mode="json", exclude={"source_id", "visibility", *NOT_CONTENT})


def split_envelope(model: BaseModel) -> tuple[str, str, dict[str, Any]]:
    """Split validated content into (source_id, visibility, data); ``source_updated_at``
    goes to the provenance, not into data."""
    dumped = model.model_dump(mode="json", exclude=set(NOT_CONTENT))
    return dumped.pop("source_id"), dumped.pop("visibility"), dumped


def hash_data(visibility: str, data: Mapping[str, Any]) -> str:
    """The content hash of stored `data` plus its visibility (same as `content_hash`)."""
    canonical = orjson.dumps({**data, "visibility": visibility}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def content_hash(model: BaseModel) -> str:
    """sha256 hex of the canonical JSON of the content (all fields but source_id, visibility
    included), so a visibility change counts as a change."""
    canonical = orjson.dumps(
        model.model_dump(mode="json", exclude={"source_id", *NOT_CONTENT}),
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()
