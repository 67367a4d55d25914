"""TCVN3 and VNI to Unicode NFC: every letter with every tone, known samples, detection."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from connectors import decode_tcvn3, decode_vni, encode_tcvn3, encode_vni, to_unicode

TONES = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
VOWELS = "aăâeêioôơuưy"
# Every vowel with every tone (72 letters), and đ.
LOWER = [unicodedata.normalize("NFC", v + t) for v in VOWELS for t in TONES] + ["đ"]
UPPER = [c.upper() for c in LOWER]
PANGRAM = ("Tôi yêu tiếng nước tôi từ khi mới ra đời, người ơi! Mẹ hiền ru những câu xa vời; "
           "à ơi! tiếng ru muôn đời. Quyền con người được bảo đảm: thuỷ, thủy, kỹ, ỵ, ặ, ẫ, ự")


def test_tables_cover_every_letter_and_tone() -> None:
    assert len(LOWER) == 73
    for letter in LOWER:
        assert decode_tcvn3(encode_tcvn3(letter)) == letter
        assert decode_vni(encode_vni(letter)) == letter
    for letter in UPPER:
        assert decode_vni(encode_vni(letter)) == letter
    # TCVN3 has capitals of its own only without a tone.
    for letter in "ĂÂÊÔƠƯĐ":
        assert decode_tcvn3(encode_tcvn3(letter)) == letter


def test_round_trip_of_real_text() -> None:
    for text in (PANGRAM, "Đối thoại quốc tế về nhân quyền", "Gìn giữ tiếng mẹ đẻ"):
        assert decode_tcvn3(encode_tcvn3(text)) == text
        assert decode_vni(encode_vni(text)) == text
        assert unicodedata.is_normalized("NFC", decode_vni(encode_vni(text)))


def test_known_legacy_samples() -> None:
    # As such text arrives: each byte of the old font as the Latin-1 character of that number.
    assert decode_tcvn3("B¶o Th¾ng") == "Bảo Thắng"
    assert decode_tcvn3("M\xadêng Kh\xad¬ng") == "Mường Khương"
    assert decode_tcvn3("G¹o tÎ gi·") == "Gạo tẻ giã"
    assert decode_tcvn3("§iÖn Bi\xaan") == "Điện Biên"
    assert decode_vni("Vieät Nam") == "Việt Nam"
    assert decode_vni("Quyeàn con ngöôøi") == "Quyền con người"
    assert encode_vni("ĐẶNG") == "ÑAËNG"


def test_unicode_text_is_left_alone() -> None:
    text = "Quyền con người"
    assert decode_tcvn3(text) == text
    assert decode_vni(text) == text
    assert to_unicode("cà phê", "auto") == "cà phê"  # Latin-1 but not TCVN3
    assert to_unicode(encode_tcvn3("Bảo vệ quyền trẻ em"), "auto") == "Bảo vệ quyền trẻ em"
    # NFD input comes out NFC.
    assert to_unicode(unicodedata.normalize("NFD", text), "unicode") == text


@given(st.lists(st.sampled_from([*LOWER, *"ĂÂÊÔƠƯĐ", *" ,.:-0123456789bcdghklmnpqrstvx"]),
                max_size=60))
def test_tcvn3_round_trip_property(chars: list[str]) -> None:
    text = "".join(chars)
    assert decode_tcvn3(encode_tcvn3(text)) == text


@given(st.lists(st.sampled_from([*LOWER, *UPPER, *" ,.:-0123456789bcdghklmnpqrstvxBCDGH"]),
                max_size=60))
def test_vni_round_trip_property(chars: list[str]) -> None:
    text = "".join(chars)
    assert decode_vni(encode_vni(text)) == text


def test_every_text_field_of_a_mapping_is_repaired_flagged_or_not() -> None:
    from connectors import MappingSpec, apply_mapping

    spec = MappingSpec.model_validate({"source_id": "ma", "fields": {
        "title": {"from": "ten"}, "description": {"from": "mo_ta", "encoding": "unicode"},
        "publisher": {"from": "nxb", "encoding": "verbatim"}, "kind": {"value": "book"},
        "authors": {"from": "tac_gia", "split": ";"}}})
    item = apply_mapping(spec, {
        "ma": "A1", "ten": "Ñoái töôïng ñöôïc höôûng", "mo_ta": encode_tcvn3("Bảo vệ quyền trẻ em"),
        "nxb": "Ñoái töôïng", "tac_gia": "Nguyeãn Vaên An; Müller"}).item
    assert item is not None
    assert item["title"] == "Đối tượng được hưởng"
    assert item["description"] == "Bảo vệ quyền trẻ em"
    assert item["publisher"] == "Ñoái töôïng"  # verbatim: the check is off
    assert item["authors"] == ["Nguyễn Văn An", "Müller"]
