"""Legacy Vietnamese encodings to Unicode NFC: TCVN3 (ABC, TCVN 5712:1993 VN3) and VNI-Windows.

No well-kept PyPI package converts these, so the tables live here, built from the letter
structure (base vowel x five tones) and tested by round trips over every letter and tone.

Legacy text reaches us inside UTF-8 JSON as Latin-1 look-alikes: each byte of the old font
became the Unicode character with the same number ("B¶o Th¾ng" is TCVN3 for "Bảo Thắng",
"Vieät Nam" VNI for "Việt Nam"). Text that already holds a character beyond Latin-1 (ư, ơ, ạ...)
is Unicode and is left alone.

TCVN3 has precomposed lowercase letters only: capitals with a tone were drawn with the
capital font (.VnTimeH) from the lowercase codes, so decoding gives lowercase for them; the
capitals without tone (Ă Â Ê Ô Ơ Ư Đ) have codes of their own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from connectors._syllables import is_syllable, plausible_case

# Tone marks in the order TCVN3 lays them out: grave, hook above, tilde, acute, dot below.
_TONES = ("\u0300", "\u0309", "\u0303", "\u0301", "\u0323")

# TCVN3: base letter -> (code of the toneless letter or None for ASCII, codes of its 5 tones).
_TCVN3_VOWELS: dict[str, tuple[int | None, tuple[int, ...]]] = {
    "a": (None, (0xB5, 0xB6, 0xB7, 0xB8, 0xB9)),
    "ă": (0xA8, (0xBB, 0xBC, 0xBD, 0xBE, 0xC6)),
    "â": (0xA9, (0xC7, 0xC8, 0xC9, 0xCA, 0xCB)),
    "e": (None, (0xCC, 0xCE, 0xCF, 0xD0, 0xD1)),
    "ê": (0xAA, (0xD2, 0xD3, 0xD4, 0xD5, 0xD6)),
    "i": (None, (0xD7, 0xD8, 0xDC, 0xDD, 0xDE)),
    "o": (None, (0xDF, 0xE1, 0xE2, 0xE3, 0xE4)),
    "ô": (0xAB, (0xE5, 0xE6, 0xE7, 0xE8, 0xE9)),
    "ơ": (0xAC, (0xEA, 0xEB, 0xEC, 0xED, 0xEE)),
    "u": (None, (0xEF, 0xF1, 0xF2, 0xF3, 0xF4)),
    "ư": (0xAD, (0xF5, 0xF6, 0xF7, 0xF8, 0xF9)),
    "y": (None, (0xFA, 0xFB, 0xFC, 0xFD, 0xFE)),
}
_TCVN3_OTHERS = {"đ": 0xAE, "Ă": 0xA1, "Â": 0xA2, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6,
                 "Đ": 0xA7}

# VNI-Windows: a base letter followed by a mark character; a few letters are one character.
# Lowercase marks; the capital forms use the upper-case look-alikes (ù -> Ù ...).
_VNI_TONE_MARKS = ("ø", "û", "õ", "ù", "ï")  # grave, hook, tilde, acute, dot
_VNI_HAT_TONE_MARKS = ("à", "å", "ã", "á", "ä")  # after â ê ô (written base + "â")
_VNI_BREVE_TONE_MARKS = ("è", "ú", "ü", "é", "ë")  # after ă (written "a" + "ê")


def _tcvn3_tables() -> tuple[dict[str, str], dict[str, str]]:
    decode: dict[str, str] = {}
    for base, (plain, toned) in _TCVN3_VOWELS.items():
        if plain is not None:
            decode[chr(plain)] = base
        for tone, code in zip(_TONES, toned, strict=True):
            decode[chr(code)] = unicodedata.normalize("NFC", base + tone)
    for letter, code in _TCVN3_OTHERS.items():
        decode[chr(code)] = letter
    encode = {v: k for k, v in decode.items()}
    # Capitals with a tone: the lowercase code (the capital font draws it upper-case).
    for base in _TCVN3_VOWELS:
        for tone in _TONES:
            lower = unicodedata.normalize("NFC", base + tone)
            encode.setdefault(lower.upper(), encode[lower])
    return decode, encode


def _vni_tables() -> tuple[dict[str, str], dict[str, str]]:
    lower: dict[str, str] = {"đ": "ñ", "ơ": "ô", "ư": "ö"}
    for base in "aeiouy":
        lower[base] = base
        for tone, mark in zip(_TONES, _VNI_TONE_MARKS, strict=True):
            lower[unicodedata.normalize("NFC", base + tone)] = base + mark
    for base, hat in (("a", "â"), ("e", "ê"), ("o", "ô")):
        lower[hat] = base + "â"
        for tone, mark in zip(_TONES, _VNI_HAT_TONE_MARKS, strict=True):
            lower[unicodedata.normalize("NFC", hat + tone)] = base + mark
    lower["ă"] = "aê"
    for tone, mark in zip(_TONES, _VNI_BREVE_TONE_MARKS, strict=True):
        lower[unicodedata.normalize("NFC", "ă" + tone)] = "a" + mark
    for base, code in (("ơ", "ô"), ("ư", "ö")):
        for tone, mark in zip(_TONES, _VNI_TONE_MARKS, strict=True):
            lower[unicodedata.normalize("NFC", base + tone)] = code + mark
    # i and y: some letters are single characters in VNI.
    lower.update({"í": "í", "ì": "ì", "ỉ": "æ", "ĩ": "ó", "ị": "ò", "ỵ": "î"})
    encode = dict(lower)
    for letter, code in lower.items():
        encode[letter.upper()] = code.upper()
    encode = {k: v for k, v in encode.items() if k != v}  # plain ASCII letters need no entry
    decode = {v: k for k, v in encode.items()}
    return decode, encode


TCVN3_DECODE, TCVN3_ENCODE = _tcvn3_tables()
VNI_DECODE, VNI_ENCODE = _vni_tables()
_VNI_LONGEST = max(len(k) for k in VNI_DECODE)

_TCVN3_LOWER_TONED = frozenset(ch for ch, letter in TCVN3_DECODE.items() if letter.islower()
                               and letter not in "ăâêôơưđ")

# Characters a cp1252 decoder makes of bytes 0x80-0x9F: a legacy text read as cp1252 rather
# than Latin-1 may hold them (curly quotes, dashes), and they say nothing about Unicode.
_CP1252_EXTRAS = frozenset(bytes(range(0x80, 0xA0)).decode("cp1252", errors="ignore"))


# A character beyond Latin-1 that is not one of cp1252's extras (a regex scans in C: this
# runs on every text field of every pulled record).
_BEYOND_LATIN1 = re.compile("[^\x00-\xff" + re.escape("".join(sorted(_CP1252_EXTRAS))) + "]")


def _is_unicode_already(text: str) -> bool:
    return _BEYOND_LATIN1.search(text) is not None


def decode_tcvn3(text: str) -> str:
    """TCVN3 (ABC) text, as Latin-1 look-alikes, to Unicode NFC, letter by letter."""
    if _is_unicode_already(text):
        return unicodedata.normalize("NFC", text)
    return unicodedata.normalize("NFC", "".join(TCVN3_DECODE.get(ch, ch) for ch in text))


def decode_tcvn3_text(text: str) -> str:
    """:func:`decode_tcvn3` for a whole text, with the capitals TCVN3 has no codes for (the
    toned ones) restored where the case can be told: in a word whose other letters are
    capitals (HµNH -> HÀNH), in text written in capitals, at the start of a sentence."""
    if _is_unicode_already(text):
        return unicodedata.normalize("NFC", text)
    return unicodedata.normalize("NFC", _tcvn3_capitals(text))


def _tcvn3_capitals(text: str) -> str:
    decoded = [TCVN3_DECODE.get(ch, ch) for ch in text]
    if not any(ch in _TCVN3_LOWER_TONED for ch in text):
        return "".join(decoded)
    # The case is told by the letters that have one of their own in TCVN3.
    if _in_capitals(text):
        return "".join(decoded).upper()
    for match in _WORD.finditer(text):
        span = range(match.start(), match.end())
        others = [decoded[i] for i in span
                  if text[i] not in _TCVN3_LOWER_TONED and decoded[i].isalpha()]
        if len(others) >= 2 and all(ch.isupper() for ch in others):
            for i in span:
                decoded[i] = decoded[i].upper()
        elif text[match.start()] in _TCVN3_LOWER_TONED and _starts_sentence(text, match.start()):
            decoded[match.start()] = decoded[match.start()].upper()
    return "".join(decoded)


def _in_capitals(text: str) -> bool:
    """Whether TCVN3 text is written in capitals: its letters with a case of their own in
    TCVN3 (all but the toned vowels) are capitals, three at least."""
    cased = [d for d in (TCVN3_DECODE.get(ch, ch) for ch in text if ch not in _TCVN3_LOWER_TONED)
             if d.isalpha()]
    return len(cased) >= 3 and all(ch.isupper() for ch in cased)


def _starts_sentence(text: str, at: int) -> bool:
    before = text[:at].rstrip(" \"'(")
    return not before or before[-1] in ".!?:\n"


def encode_tcvn3(text: str) -> str:
    """Unicode to TCVN3 look-alikes (for the agency simulator and tests)."""
    text = unicodedata.normalize("NFC", text)
    return "".join(TCVN3_ENCODE.get(ch, ch) for ch in text)


def decode_vni(text: str) -> str:
    """VNI-Windows text, as Latin-1 look-alikes, to Unicode NFC (longest match first)."""
    if _is_unicode_already(text):
        return unicodedata.normalize("NFC", text)
    out: list[str] = []
    i = 0
    while i < len(text):
        for size in range(_VNI_LONGEST, 0, -1):
            piece = text[i : i + size]
            if len(piece) == size and piece in VNI_DECODE:
                out.append(VNI_DECODE[piece])
                i += size
                break
        else:
            out.append(text[i])
            i += 1
    return unicodedata.normalize("NFC", "".join(out))


def encode_vni(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return "".join(VNI_ENCODE.get(ch, ch) for ch in text)


# A word of legacy text: letters, and the TCVN3 codes that are not letters in Unicode
# (¸ µ ¶ · ¹ « ¬ ­ ® § ...). Digits end a word, so "1.250.000ñ" gives the word "ñ".
_LEGACY_SYMBOLS = "".join(sorted(ch for ch in TCVN3_DECODE if not ch.isalpha()))
_WORD = re.compile(rf"(?:[^\W\d_]|[{re.escape(_LEGACY_SYMBOLS)}])+")
_CURRENCY = frozenset({"đ", "Đ"})  # "1.250.000 đ": a word that is no syllable

# Thresholds of the detector, tuned on the tuning part of the corpus (tests/connectors/
# test_legacy_corpus.py) and checked on the held-back part: a decoding is taken when at
# least this share of the words it changes become syllables ...
CHANGED_VALID_SHARE = 0.9
# ... and this share of all the words of the text (acronyms aside) are syllables after it.
TEXT_VALID_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Detection:
    """What the detector concluded about one text: ``encoding`` is "vni", "tcvn3" or None
    (left as it is), ``score`` the words the decoding turned into syllables."""

    encoding: str | None
    text: str
    score: int = 0


def _evidence(
    text: str, decode: Callable[[str], str], *, tcvn3: bool
) -> tuple[int, int, int, int, int] | None:
    """(changed words, of which syllables after, of which syllables before, counted words,
    syllables among them after) or None when the decoding changes nothing."""
    changed = changed_ok = changed_before = counted = counted_ok = 0
    for match in _WORD.finditer(text):
        word = match.group()
        after = decode(word)
        ok = (is_syllable(after) and plausible_case(after, tcvn3=tcvn3)) or after in _CURRENCY
        if after != word:
            changed += 1
            changed_ok += ok
            changed_before += is_syllable(word) and plausible_case(word)
        elif word.isascii() and word.isupper():
            continue  # acronyms (UBND, TP) are no syllables in any encoding
        counted += 1
        counted_ok += ok
    return (changed, changed_ok, changed_before, counted, counted_ok) if changed else None


# Words repeat (a few thousand syllables make most Vietnamese text): each is decoded once.
_vni_word = lru_cache(maxsize=50_000)(decode_vni)
_tcvn3_word = lru_cache(maxsize=50_000)(decode_tcvn3_text)


def detect_legacy(text: str) -> Detection:
    """Decide whether ``text`` is VNI or TCVN3 rather than Unicode, and decode it if so.

    Text holding a character beyond Latin-1 is Unicode. Otherwise each code page is tried on
    each word: it must turn nearly every word it changes into a Vietnamese syllable, leave
    a text made mostly of syllables, and make more syllables than reading the words as
    Unicode does (so "Tôi", a word in both, stays as it is). Accented Latin text fails
    these: its words do not decode to syllables."""
    if _is_unicode_already(text) or text.isascii():
        return Detection(None, text)
    best = Detection(None, text)
    capitals = _in_capitals(text)

    def tcvn3_word(word: str) -> str:
        return _tcvn3_word(word).upper() if capitals else _tcvn3_word(word)

    for name, decode, decode_word in (("vni", decode_vni, _vni_word),
                                      ("tcvn3", decode_tcvn3_text, tcvn3_word)):
        evidence = _evidence(text, decode_word, tcvn3=name == "tcvn3")
        if evidence is None:
            continue
        changed, changed_ok, changed_before, counted, counted_ok = evidence
        if (changed_ok >= CHANGED_VALID_SHARE * changed
                and counted_ok >= TEXT_VALID_SHARE * counted
                and changed_ok > changed_before
                and changed_ok - changed_before > best.score):
            best = Detection(name, decode(text), changed_ok - changed_before)
    return best


def looks_like_tcvn3(text: str) -> bool:
    """Whether the detector takes ``text`` for TCVN3."""
    return detect_legacy(text).encoding == "tcvn3"


def _judged(text: str) -> str:
    return unicodedata.normalize("NFC", detect_legacy(text).text)


# Field values repeat across records (publishers, kinds, language lists): each distinct short
# text is judged once.
_judged_short = lru_cache(maxsize=8192)(_judged)


def to_unicode(text: str, encoding: str) -> str:
    """Decode ``text`` from ``encoding``: "tcvn3" and "vni" decode; "auto" (and "unicode",
    its former name) decode what the detector takes for VNI or TCVN3 and normalise the rest;
    "verbatim" only normalises."""
    if encoding == "tcvn3":
        return decode_tcvn3_text(text)
    if encoding == "vni":
        return decode_vni(text)
    if encoding in ("auto", "unicode"):
        # the cache holds short values only: its memory stays bounded
        return _judged_short(text) if len(text) <= 200 else _judged(text)
    return unicodedata.normalize("NFC", text)
