import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from schemas import LongText, ShortText, Text, fold, nfc, problems_from_validation_error


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Quyền con người", "quyen con nguoi"),
        ("Đắk Lắk", "dak lak"),
        ("  ĐẢNG   và\tNhà nước\n", "dang va nha nuoc"),
        ("Tiếng Ê Đê", "tieng e de"),
        ("Hồ Chí Minh", "ho chi minh"),
    ],
)
def test_fold_examples(raw: str, folded: str) -> None:
    assert fold(raw) == folded
    assert fold(unicodedata.normalize("NFD", raw)) == folded


def test_nfc_composes_decomposed_input() -> None:
    decomposed = unicodedata.normalize("NFD", "Quyền con người")
    assert decomposed != "Quyền con người"
    assert nfc(decomposed) == "Quyền con người"
    assert TypeAdapter(ShortText).validate_python(f"  {decomposed} ") == "Quyền con người"


@pytest.mark.parametrize("bad", ["a\x00b", "\x07bell", "esc\x1b", "del\x7f"])
def test_control_characters_rejected(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(Text).validate_python(bad)
    (problem,) = problems_from_validation_error(info.value)
    assert problem.code == "control_character"
    assert "ký tự điều khiển" in problem.message_vi
    assert "control" in problem.message_en


def test_tab_newline_allowed() -> None:
    assert TypeAdapter(LongText).validate_python("a\tb\r\nc") == "a\tb\r\nc"


def test_length_limits_after_normalisation() -> None:
    short = TypeAdapter(ShortText)
    assert len(short.validate_python("ề" * 500)) == 500
    # 500 decomposed letters are 1,000 code points but only 500 after NFC.
    assert len(short.validate_python(unicodedata.normalize("NFD", "ề" * 500))) == 500
    with pytest.raises(ValidationError) as info:
        short.validate_python("a" * 501)
    (problem,) = problems_from_validation_error(info.value)
    assert problem.code == "string_too_long"
    assert "500" in problem.message_vi and "500" in problem.message_en
    with pytest.raises(ValidationError):
        short.validate_python("   ")
    with pytest.raises(ValidationError):
        TypeAdapter(LongText).validate_python("x" * 20_001)


@given(st.text())
def test_nfc_idempotent(s: str) -> None:
    assert nfc(nfc(s)) == nfc(s)


@given(st.text())
def test_fold_idempotent(s: str) -> None:
    once = fold(s)
    assert fold(once) == once
    assert once == once.strip()
    assert "  " not in once


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))))
def test_text_output_is_nfc_and_stripped(s: str) -> None:
    out = TypeAdapter(Text).validate_python(s)
    assert out == nfc(out)
    assert out == out.strip()
