"""Canonical content hashing: equal content gives an equal hash, whatever the key order."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel


def content_dict(model: BaseModel) -> dict[str, Any]:
    """The JSON-mode content the hub stores as `data`: everything but source_id and visibility."""
    return model.model_dump(mode="json", exclude={"source_id", "visibility"})


def split_envelope(model: BaseModel) -> tuple[str, str, dict[str, Any]]:
    """Split validated content into (source_id, visibility, data)."""
    dumped = model.model_dump(mode="json")
    return dumped.pop("source_id"), dumped.pop("visibility"), dumped


def hash_data(visibility: str, data: Mapping[str, Any]) -> str:
    """The content hash of stored `data` plus its visibility (same as `content_hash`)."""
    canonical = orjson.dumps({**data, "visibility": visibility}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def content_hash(model: BaseModel) -> str:
    """sha256 hex of the canonical JSON of the content (all fields but source_id, visibility
    included), so a visibility change counts as a change."""
    canonical = orjson.dumps(
        model.model_dump(mode="json", exclude={"source_id"}), option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()
