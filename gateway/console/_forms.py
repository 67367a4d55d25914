"""Reading console forms: the CSRF check first, then text fields cleaned the way the admin
API cleans its bodies (NFC, no control characters, bounded length). Anything a person can
type becomes either a value or a :class:`hub.InvalidInput` with a Vietnamese message.

The forms for an entity the admin API also edits (clients, API keys, admin accounts) go
through the API's own bodies (``hub.tables``' ``XCreate``/``XUpdate``) with :func:`validated`:
a rule (a length, a pattern, a role or scope) lives in the body once, and its complaint is
shown in Vietnamese with the form's label for the field (``_labels.FIELD_WORDS``)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from gateway.console._i18n import parse_date
from gateway.console._labels import field_words
from gateway.console._session import CSRF_FIELD, check_csrf, read_session
from hub import Hub, InvalidInput, NotFound
from schemas import TEXT_CONTROL, problem_from_error

B = TypeVar("B", bound=BaseModel)

CODE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
# Max size of one upload through the console (the body-size limit applies first).
MAX_FIELD = 2000


class Form:
    def __init__(self, data: FormData) -> None:
        self.data = data

    def text(self, name: str, *, max_length: int = 300, required: bool = False,
             label: str | None = None) -> str:
        raw = self.data.get(name)
        value = raw if isinstance(raw, str) else ""
        if TEXT_CONTROL.search(value):
            raise InvalidInput("Không được nhập ký tự điều khiển.",
                               "Control characters are not allowed.")
        value = unicodedata.normalize("NFC", value.strip())
        if len(value) > max_length:
            raise InvalidInput(
                f"Trường {label or name} dài quá {max_length} ký tự.",
                f"The field {label or name} is longer than {max_length} characters.",
            )
        if required and not value:
            raise InvalidInput(f"Hãy nhập {label or name}.", f"{label or name} is required.")
        return value

    def texts(self, name: str, *, max_length: int = 60) -> list[str]:
        values = [v for v in self.data.getlist(name) if isinstance(v, str)]
        out = []
        for v in values[:20]:
            if TEXT_CONTROL.search(v) or len(v) > max_length:
                raise InvalidInput("Giá trị không hợp lệ.", "Invalid value.")
            out.append(v.strip())
        return out

    def code(self, name: str, *, required: bool = True, label: str | None = None) -> str:
        value = self.text(name, max_length=40, required=required, label=label)
        if value and not CODE.match(value):
            raise InvalidInput(f"Mã {label or name} không hợp lệ.",
                               f"Invalid code in {label or name}.")
        return value

    def day(self, name: str, *, label: str | None = None) -> date | None:
        value = self.text(name, max_length=20, label=label)
        try:
            return parse_date(value)
        except (ValueError, OverflowError):
            raise InvalidInput(
                f"Ngày không hợp lệ ({label or name}): nhập theo dạng dd/mm/yyyy.",
                f"Invalid date ({label or name}): use dd/mm/yyyy.",
            ) from None

    def given(self, *names: str) -> dict[str, str]:
        """The named fields that were filled in, as sent (a body cleans and checks them):
        an empty field is left out, so the body's default applies."""
        out = {}
        for name in names:
            value = self.data.get(name)
            if isinstance(value, str) and value.strip():
                out[name] = value
        return out

    def all(self, name: str) -> list[str]:
        """Every value of a repeated field (checkboxes), as sent."""
        return [v for v in self.data.getlist(name) if isinstance(v, str)]

    def flag(self, name: str) -> bool:
        return self.data.get(name) in ("1", "on", "true", "yes")

    def file(self, name: str) -> UploadFile | None:
        value = self.data.get(name)
        return value if isinstance(value, UploadFile) and value.filename else None


def validated(model: type[B], values: dict[str, Any],
              words: dict[str, str] | None = None) -> B:
    """``values`` validated by the admin API's body ``model``; its first complaint becomes an
    :class:`InvalidInput` naming the form's field (``words``: field -> _i18n key, over
    ``_labels.FIELD_WORDS``)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise body_error(exc, values, words) from None


def body_error(exc: ValidationError, values: dict[str, Any],
               words: dict[str, str] | None = None) -> InvalidInput:
    error = exc.errors(include_url=False)[0]
    loc = error["loc"]
    if not loc:  # the body's text cleaning (hub._bodies): control characters
        if any(TEXT_CONTROL.search(v) for v in _texts(values)):
            return InvalidInput("Không được nhập ký tự điều khiển.",
                                "Control characters are not allowed.")
        return InvalidInput("Biểu mẫu không hợp lệ.", "The form is invalid.")
    vi, en = field_words(str(loc[0]), words)
    ctx = error.get("ctx") or {}
    if error["type"] == "missing" or (error["type"] == "string_too_short"
                                      and ctx.get("min_length") == 1):
        return InvalidInput(f"Hãy nhập {vi[:1].lower()}{vi[1:]}.", f"{en} is required.")
    problem = problem_from_error(error)
    return InvalidInput(f"{vi}: {problem.message_vi}.", f"{en}: {problem.message_en}.")


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


async def read_form(request: Request, hub: Hub) -> Form:
    """The POSTed form, after the CSRF check; a malformed body is a 400, not a 500."""
    try:
        data = await request.form(max_files=1, max_fields=200)
    except Exception:  # multipart errors come in several types; all mean a bad body
        raise InvalidInput("Biểu mẫu gửi lên không hợp lệ.", "The form body is invalid.") from None
    check_csrf(read_session(request, hub.settings), data.get(CSRF_FIELD))
    return Form(data)


def query_text(request: Request, name: str, *, max_length: int = 200) -> str:
    """A query parameter as clean text; anything odd is simply ignored (filters)."""
    value = request.query_params.get(name, "")
    if TEXT_CONTROL.search(value) or len(value) > max_length:
        return ""
    return unicodedata.normalize("NFC", value.strip())


_IDENT = re.compile(r"^[A-Za-z0-9._@+-]{1,100}$")


def ident(value: str) -> str:
    """An identifier from the URL path (client id, key id, agency code, record id...): one
    that cannot exist (odd characters, NUL, too long) is a 404, never a database error."""
    if not _IDENT.match(value):
        raise NotFound("Không tìm thấy.", "Not found.")
    return value
