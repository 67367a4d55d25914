"""Properties: any JSON input gives a model or translatable problems; hashing ignores key order."""

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas import RECORD_TYPES, content_hash, problems_from_validation_error

FIELD_NAMES = sorted({f for rt in RECORD_TYPES.values() for f in rt.model.model_fields} | {"id"})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
records = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), json_values,
                          max_size=12)


@settings(max_examples=200)
@given(st.sampled_from(list(RECORD_TYPES)), records)
def test_any_input_validates_or_gives_problems(name: str, raw: dict[str, Any]) -> None:
    try:
        RECORD_TYPES[name].model.model_validate(raw)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc)
        assert problems
        for p in problems:
            assert p.code and p.message_vi and p.message_en
            assert len(p.message_vi) < 400 and len(p.message_en) < 400


@given(st.randoms(use_true_random=False), st.sampled_from(["private", "shared", "public"]),
       st.lists(st.sampled_from(["vie", "eng", "tyz", "hmn"]), max_size=4))
def test_hash_ignores_key_order(rnd: random.Random, visibility: str, langs: list[str]) -> None:
    raw = {"source_id": "E-1", "title": "Hội thảo", "kind": "seminar",
           "start_date": "2025-01-02", "visibility": visibility, "languages": langs,
           "participants": 40, "location": "Huế"}
    items = list(raw.items())
    rnd.shuffle(items)
    model = RECORD_TYPES["events"].model
    shuffled = model.model_validate(dict(items))
    assert content_hash(model.model_validate(raw)) == content_hash(shuffled)
