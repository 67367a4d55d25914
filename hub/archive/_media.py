"""What an uploaded file is, decided from its bytes, and what it may be called.

The client's declared media type is a claim: the file's first bytes (magic numbers, through
the pure-Python ``filetype`` package) must agree with it, or the upload is refused. Text types
(subtitles, transcripts) have no magic number: they must be UTF-8 text without NUL bytes,
and WebVTT must start with its signature. Original names are kept as metadata only (storage
keys are digests), but a name that looks like a path is refused outright, so no later export
or download can be tricked into writing outside its folder.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection

import filetype

import schemas
from hub._errors import HubError, InvalidInput, UnsupportedMediaType

SNIFF_BYTES = 8192  # filetype reads no more than this

# Client spellings -> the names the hub stores.
ALIASES = {
    "audio/mp3": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/wav": "audio/x-wav",
    "audio/wave": "audio/x-wav",
    "audio/vnd.wave": "audio/x-wav",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "video/x-m4v": "video/mp4",
    "text/srt": "application/x-subrip",
    "application/srt": "application/x-subrip",
    "application/x-pdf": "application/pdf",
}
TEXT_TYPES = frozenset({"text/plain", "text/vtt", "application/x-subrip"})
# ISO base media files: the brand decides audio or video, and encoders pick brands freely.
_ISO_BMFF = frozenset({"video/mp4", "audio/mp4", "video/quicktime"})
UNKNOWN = frozenset({"", "application/octet-stream", "binary/octet-stream"})


class MediaTypeMismatch(HubError):
    """The bytes are not what the client said they are."""

    status = 422
    type_slug = "media-type-mismatch"
    title_vi = "Nội dung tệp không khớp với kiểu đã khai báo"
    title_en = "File content does not match its declared type"


def normalise_type(media_type: str | None) -> str:
    base = (media_type or "").split(";")[0].strip().lower()
    return ALIASES.get(base, base)


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for cut in range(4):  # the sniffed head may end inside a multi-byte character
        try:
            head[: len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def detect_media_type(
    head: bytes, declared: str | None, allowed: Collection[str]
) -> str:
    """The media type to store for a file whose first bytes are ``head``; raises 422 when the
    bytes contradict ``declared`` and 415 when the type is not accepted by the settings."""
    claimed = normalise_type(declared)
    kind = filetype.guess(head[:SNIFF_BYTES]) if head else None
    detected = normalise_type(kind.mime) if kind is not None else None
    if claimed in UNKNOWN:
        if detected is not None:
            media = detected
        elif head and _looks_like_text(head[:SNIFF_BYTES]):
            media = "text/plain"
        else:
            raise UnsupportedMediaType(
                "Không nhận ra kiểu của tệp; hãy khai báo kiểu nội dung (Content-Type).",
                "The file's type could not be recognised; declare its Content-Type.",
            )
    elif claimed in TEXT_TYPES:
        text = head.removeprefix(b"\xef\xbb\xbf")
        if detected is not None or not _looks_like_text(head[:SNIFF_BYTES]) or (
            claimed == "text/vtt" and not text.startswith(b"WEBVTT")
        ):
            raise _mismatch(claimed, detected or "binary data")
        media = claimed
    else:
        same = detected == claimed or (detected in _ISO_BMFF and claimed in _ISO_BMFF)
        if detected is None or not same:
            raise _mismatch(claimed, detected or "unrecognised data")
        media = claimed
    if media not in allowed:
        raise UnsupportedMediaType(
            f"Kiểu tệp {media} không được chấp nhận trong kho lưu trữ.",
            f"Files of type {media} are not accepted by the archive.",
            allowed=sorted(allowed),
        )
    return media


def _mismatch(claimed: str, detected: str) -> MediaTypeMismatch:
    return MediaTypeMismatch(
        f"Tệp được khai báo là {claimed} nhưng nội dung là {detected}.",
        f"The file was declared as {claimed} but its bytes are {detected}.",
        declared=claimed,
        detected=detected,
    )


def clean_file_name(name: str | None) -> str:
    """The original name in NFC; refuses empty names, names over 255 characters, path
    separators, ``.``/``..`` and control or format characters (e.g. right-to-left overrides
    that disguise an extension)."""
    if name is None or not name.strip():
        raise InvalidInput("Thiếu tên tệp.", "The file name is missing.")
    text = schemas.nfc(name.strip())
    bad = (
        len(text) > 255
        or text in (".", "..")
        or text.startswith("..")
        or any(c in "/\\" for c in text)
        or any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)
    )
    if bad:
        raise InvalidInput(
            "Tên tệp không hợp lệ: không được chứa đường dẫn (/, \\, ..), ký tự điều khiển "
            "và không dài quá 255 ký tự.",
            "Invalid file name: no path parts (/, \\, ..), no control characters, "
            "at most 255 characters.",
            field="name",
        )
    return text
