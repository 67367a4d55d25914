"""The seed vocabularies shipped as data (`schemas/vocabularies/*.json`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._fields import Code
from ._text import ShortText


@dataclass(frozen=True)
class VocabularyTerm:
    code: str
    label_vi: str
    label_en: str
    group: str | None = None
    active: bool = True  # False: historic term, kept so old records stay valid


@dataclass(frozen=True)
class VocabularySeed:
    vocabulary: str
    version: int
    label_vi: str
    label_en: str
    provisional: bool
    terms: tuple[VocabularyTerm, ...]

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(term.code for term in self.terms)


class _TermFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Code
    label_vi: ShortText
    label_en: ShortText
    group: Code | None = None
    active: bool = True


class _VocabularyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    vocabulary: Code
    version: int = Field(ge=1)
    label_vi: ShortText
    label_en: ShortText
    provisional: bool = False
    terms: list[_TermFile] = Field(min_length=1)

    @field_validator("terms")
    @classmethod
    def _unique_codes(cls, terms: list[_TermFile]) -> list[_TermFile]:
        codes = [term.code for term in terms]
        if len(codes) != len(set(codes)):
            raise ValueError("duplicate term codes")
        return terms


@cache
def _load() -> tuple[VocabularySeed, ...]:
    seeds = []
    folder = files("schemas").joinpath("vocabularies")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        raw = _VocabularyFile.model_validate_json(entry.read_bytes())
        if f"{raw.vocabulary}.json" != entry.name:
            raise ValueError(f"{entry.name}: vocabulary is named {raw.vocabulary!r}")
        terms = tuple(VocabularyTerm(**t.model_dump()) for t in raw.terms)
        seeds.append(VocabularySeed(**raw.model_dump(exclude={"terms"}), terms=terms))
    return tuple(seeds)


def load_vocabulary_seed() -> list[VocabularySeed]:
    """Every packaged vocabulary, sorted by name (read once, then cached)."""
    return list(_load())


def vocabulary_codes() -> dict[str, frozenset[str]]:
    """vocabulary name -> its seed codes (a `known` argument for `check_vocabularies`)."""
    return {seed.vocabulary: seed.codes for seed in _load()}
