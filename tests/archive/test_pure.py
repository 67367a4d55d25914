"""Pure helpers of the archive: byte ranges, file names, media types from bytes, tus metadata
and signed links (no database)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.http._tus import parse_metadata
from gateway.routers.files import RangeNotSatisfiable, parse_range
from hub import InvalidInput, UnsupportedMediaType
from hub.archive._media import MediaTypeMismatch, clean_file_name, detect_media_type
from hub.archive._service import link_is_valid, sign_link
from tests.archive.conftest import epub_bytes, mp4_bytes, pdf_bytes, png_bytes

ALLOWED = {"application/pdf", "video/mp4", "audio/mp4", "image/png", "text/plain", "text/vtt",
           "application/epub+zip", "audio/mpeg"}


def test_ranges() -> None:
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-200", 100) == (90, 99)
    assert parse_range("bytes=95-", 100) == (95, 99)
    assert parse_range("bytes=-5", 100) == (95, 99)
    assert parse_range("bytes=-500", 100) == (0, 99)
    assert parse_range("bytes=0-1,5-6", 100) is None  # several ranges: the whole file
    assert parse_range("items=0-1", 100) is None
    assert parse_range("bytes=x-y", 100) is None
    for bad in ("bytes=100-", "bytes=50-40", "bytes=-0"):
        with pytest.raises(RangeNotSatisfiable):
            parse_range(bad, 100)


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 10**6))
def test_a_satisfiable_range_stays_inside_the_file(a: int, b: int, size: int) -> None:
    try:
        span = parse_range(f"bytes={a}-{b}", size)
    except RangeNotSatisfiable:
        assert a >= size or a > b
        return
    assert span is not None
    assert 0 <= span[0] <= span[1] < size


def test_file_names() -> None:
    assert clean_file_name("  Sa\u0301ch.pdf ") == "Sách.pdf"  # NFC
    for bad in ("", "  ", "../a", "a/b", "a\\b", ".", "..", "..a", "a\x00b", "a\nb",
                "x\u202efdp.exe", "a" * 256):
        with pytest.raises(InvalidInput):
            clean_file_name(bad)


def test_media_types_from_bytes() -> None:
    assert detect_media_type(pdf_bytes(), "application/pdf", ALLOWED) == "application/pdf"
    assert detect_media_type(pdf_bytes(), "application/x-pdf", ALLOWED) == "application/pdf"
    assert detect_media_type(mp4_bytes(), "video/mp4", ALLOWED) == "video/mp4"
    assert detect_media_type(mp4_bytes(), "audio/mp4", ALLOWED) == "audio/mp4"  # brand-agnostic
    assert detect_media_type(epub_bytes(), None, ALLOWED) == "application/epub+zip"
    assert detect_media_type("Bản ghi lời".encode(), None, ALLOWED) == "text/plain"
    assert detect_media_type(b"ID3\x03\x00" + bytes(200), "audio/mp3", ALLOWED) == "audio/mpeg"
    with pytest.raises(MediaTypeMismatch):
        detect_media_type(png_bytes(), "application/pdf", ALLOWED)
    with pytest.raises(MediaTypeMismatch):
        detect_media_type(pdf_bytes(), "text/plain", ALLOWED)
    with pytest.raises(MediaTypeMismatch):
        detect_media_type(b"not a subtitle", "text/vtt", ALLOWED)
    with pytest.raises(MediaTypeMismatch):
        detect_media_type(b"\x00\x01\x02 random", "video/mp4", ALLOWED)
    with pytest.raises(UnsupportedMediaType):
        detect_media_type(b"\x00\x01\x02", None, ALLOWED)  # unknown bytes, nothing declared
    with pytest.raises(UnsupportedMediaType):
        detect_media_type(png_bytes(), "image/png", {"application/pdf"})


def test_tus_metadata() -> None:
    header = ",".join([
        "record_id " + base64.b64encode(b"abc").decode(),
        "filename " + base64.b64encode("Sách.pdf".encode()).decode(),
        "is_confidential",  # a key without a value (tus 1.0 allows it)
        "unknown " + base64.b64encode(b"x").decode(),
    ])
    assert parse_metadata(header) == {"record_id": "abc", "name": "Sách.pdf"}
    assert parse_metadata(None) == {}
    with pytest.raises(InvalidInput):
        parse_metadata("filename ***")


def test_signed_links() -> None:
    key = b"k" * 32
    signature = sign_link(key, "file-1", 2_000)
    assert link_is_valid(key, "file-1", 2_000, signature, now=1_999)
    assert not link_is_valid(key, "file-1", 2_000, signature, now=2_001)  # expired
    assert not link_is_valid(key, "file-2", 2_000, signature, now=1_000)  # another file
    assert not link_is_valid(key, "file-1", 3_000, signature, now=1_000)  # longer expiry
    assert not link_is_valid(b"x" * 32, "file-1", 2_000, signature, now=1_000)
