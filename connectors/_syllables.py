"""Whether a word is a well-formed Vietnamese syllable: the evidence the legacy-text detector
weighs (connectors._legacy_text). A syllable is an onset, a rhyme from the closed list below
and at most one tone; a rhyme closed by p, t, c, ch (or k) takes only the acute or the dot
below. Text in another Latin-script language rarely passes once decoded ("Müller" read as
TCVN3 is "Mỹller", "Société" is "Socộtộ"), which is what keeps false positives out.

Spelling variants are accepted (old "hoà" and new "hòa" tone placement, "quí" and "quý"), and
a few onsets of ethnic-minority place names (Krông, Cư Jút, Đăk Glei).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Tone marks: grave, hook above, tilde, acute, dot below.
_TONE_MARKS = frozenset("\u0300\u0309\u0303\u0301\u0323")
_STOP_TONES = frozenset("\u0301\u0323")  # the only tones after a stop final (p, t, c, ch, k)

_ONSETS = (
    "", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh",
    "nh", "p", "ph", "q", "r", "s", "t", "th", "tr", "v", "x",
    "kr", "bl", "br", "dr", "gl", "hr", "pl", "j",  # ethnic-minority names: Krông, Hrê, Glei
)


def _group(nucleus: str, tails: str) -> set[str]:
    return {nucleus + tail for tail in tails.split(",")}


_RHYMES: frozenset[str] = frozenset(set().union(
    _group("a", ",i,o,u,y,c,ch,m,n,ng,nh,p,t,k"),
    _group("ă", "c,m,n,ng,p,t,k"),
    _group("â", "c,m,n,ng,p,t,u,y"),
    _group("e", ",o,c,m,n,ng,p,t"),
    _group("ê", ",ch,m,n,nh,p,t,u"),
    _group("i", ",a,u,ch,m,n,nh,p,t"),
    _group("iê", "c,m,n,ng,p,t,u"),
    _group("o", ",i,c,m,n,ng,p,t,oc,ong,k"),
    _group("oa", ",i,o,y,c,ch,m,n,ng,nh,p,t"),
    _group("oă", "c,m,n,ng,t"),
    _group("oe", ",o,c,m,n,t"),
    _group("ô", ",i,c,m,n,ng,p,t,k"),
    _group("ơ", ",i,m,n,p,t"),
    _group("u", ",a,i,c,m,n,ng,p,t,k"),
    # After q the glide is written u: qua(i/y/n/ng/nh/t...), quă(ng), que(n/t/o).
    _group("ua", "i,o,y,c,ch,m,n,ng,nh,p,t"),
    _group("uă", "c,m,n,ng,p,t"),
    _group("ue", ",o,m,n,t"),
    _group("uâ", "n,ng,t,y"),
    _group("uê", ",ch,nh,u"),
    _group("uy", ",a,ch,n,nh,p,t,u"),
    _group("uyê", "n,t"),
    _group("uô", "c,i,m,n,ng,t"),
    {"uơ"},
    _group("ư", ",a,i,u,c,m,n,ng,t,k"),
    _group("ươ", "c,i,m,n,ng,p,t,u"),
    _group("y", ""),
    _group("yê", "m,n,ng,t,u"),
))
_STOPS = ("p", "t", "c", "ch", "k")


@lru_cache(maxsize=20_000)
def is_syllable(word: str) -> bool:
    """Whether ``word`` (any case, NFC or NFD) is one well-formed Vietnamese syllable."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [ch for ch in decomposed if ch in _TONE_MARKS]
    if len(tones) > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS))
    for onset in _ONSETS:
        if not bare.startswith(onset):
            continue
        rhyme = bare[len(onset):]
        if rhyme not in _RHYMES and not (onset == "gi" and rhyme == ""):
            continue  # "gi" alone is a syllable (gì); other onsets need a rhyme
        if onset == "q" and not rhyme.startswith("u"):
            continue
        if onset in ("gh", "ngh") and not rhyme.startswith(("e", "ê", "i")):
            continue
        if tones and rhyme.endswith(_STOPS) and tones[0] not in _STOP_TONES:
            continue
        return True
    return False


def plausible_case(word: str, *, tcvn3: bool = False) -> bool:
    """Whether a word's capitals are where writing puts them: none, all, or the first only;
    with ``tcvn3``, also all but the first (TCVN3 has no capital for a toned first vowel)."""
    rest = word[1:]
    return (word.islower() or word.isupper() or rest == rest.lower()
            or (tcvn3 and rest.isupper()))
