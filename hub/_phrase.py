"""Word pairs of folded titles: the index behind search's "title contains the phrase" tier.

A trigram index finds titles containing a phrase by intersecting the posting lists of the
phrase's letter triples. For a phrase of common words ("quyền trẻ em") every triple is common,
so the lists grow with the table even when few titles hold the phrase (bench/scale: 12.8 ms at
100,000 records, 162 ms at 10,000,000). Pairs of adjacent words are rare when the phrase is:
PostgreSQL indexes ``rh_word_pairs(title_folded)`` with GIN (migration 0007), and the tier
asks for every pair of the phrase before checking the phrase itself with ``LIKE``.

The words of a pair are whole: a phrase that begins or ends inside a title's word ("uyen tre"
in "quyen tre em") is not in this tier; such titles still match, in the last tier.

SQLite has no GIN: it evaluates the same rule through a Python function on each row, so both
databases put the same titles in the same tier. A test holds PostgreSQL's function to
:func:`word_pairs` on titles with punctuation.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

# Characters that separate words like a space does. The same set is written into the
# PostgreSQL function (migration 0007); change both, with a migration, or neither.
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~“”‘’–—…«»·•、。，：；！？（）【】《》"
_TO_SPACE = str.maketrans(PUNCTUATION, " " * len(PUNCTUATION))
# Joins a phrase's pairs into one SQL literal; never inside a pair ("|" is punctuation).
SEPARATOR = "|"


def word_pairs(folded: str) -> list[str]:
    """Adjacent words of folded text, as "word word": "dien bien: 70 nam" ->
    ["dien bien", "bien 70", "70 nam"]."""
    words = [w for w in folded.translate(_TO_SPACE).split(" ") if w]
    return [f"{a} {b}" for a, b in pairwise(words)]


def holds_pairs(folded: str, pairs: Iterable[str]) -> bool:
    """Whether folded text holds every one of ``pairs`` (the rule of :class:`HasWordPairs`)."""
    return set(pairs) <= set(word_pairs(folded))


class HasWordPairs(GenericFunction[bool]):
    """``HasWordPairs(title_folded, "a b|b c")``: the title holds every pair."""

    type = sa.Boolean()
    name = "rh_has_word_pairs"
    inherit_cache = True


@compiles(HasWordPairs, "postgresql")
def _on_postgresql(element: HasWordPairs, compiler: Any, **kw: Any) -> str:
    # string_to_array of a constant is folded to a constant when the statement is planned, so
    # the planner sees the array (its statistics and the GIN index).
    title, pairs = element.clauses
    return (f"rh_word_pairs({compiler.process(title, **kw)}) @> "
            f"string_to_array({compiler.process(pairs, **kw)}, '{SEPARATOR}')")


def _sqlite_has_word_pairs(title: str | None, pairs: str | None) -> int:
    if title is None or pairs is None:
        return 0
    return int(holds_pairs(title, pairs.split(SEPARATOR)))


def register_sqlite_functions(dbapi_connection: Any, _record: Any) -> None:
    """A ``connect`` listener: SQLite's implementation of :class:`HasWordPairs`."""
    dbapi_connection.create_function(
        HasWordPairs.name, 2, _sqlite_has_word_pairs, deterministic=True
    )
