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

import unicodedata

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

# TCVN3 codes that are not letters of Vietnamese written in Unicode (À Á Â Ã È É Ê Ì Í Ò Ó
# Ô Õ Ù Ú Ý and their lowercase are): one of them marks the text as TCVN3.
_UNICODE_VIETNAMESE_LATIN1 = frozenset("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúý")
_TCVN3_MARKERS = frozenset(TCVN3_DECODE) - _UNICODE_VIETNAMESE_LATIN1


def _is_unicode_already(text: str) -> bool:
    return any(ord(ch) > 0xFF for ch in text)


def decode_tcvn3(text: str) -> str:
    """TCVN3 (ABC) text, as Latin-1 look-alikes, to Unicode NFC."""
    if _is_unicode_already(text):
        return unicodedata.normalize("NFC", text)
    return unicodedata.normalize("NFC", "".join(TCVN3_DECODE.get(ch, ch) for ch in text))


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


def looks_like_tcvn3(text: str) -> bool:
    """Whether ``text`` is TCVN3 rather than Unicode: only ASCII and TCVN3 codes, at least
    one of which no Vietnamese word in Unicode contains (¸ for á, Î for ẻ...). Text in
    another Latin-1 language (a German ü) would pass for TCVN3: "auto" is for fields of
    Vietnamese text."""
    return (not _is_unicode_already(text)
            and all(ord(ch) < 0x80 or ch in TCVN3_DECODE for ch in text)
            and any(ch in _TCVN3_MARKERS for ch in text))


def to_unicode(text: str, encoding: str) -> str:
    """Decode ``text`` from ``encoding`` ("tcvn3", "vni", "auto": TCVN3 when it looks like
    it, "unicode": normalise only)."""
    if encoding == "tcvn3" or (encoding == "auto" and looks_like_tcvn3(text)):
        return decode_tcvn3(text)
    if encoding == "vni":
        return decode_vni(text)
    return unicodedata.normalize("NFC", text)
