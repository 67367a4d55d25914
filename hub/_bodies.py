"""Strict request bodies: unknown fields refused, no type coercion, ``null`` only where a
field's type allows it, text without control characters and in NFC.

FastAPI validates the parsed JSON in pydantic's Python mode, where lax mode would take ``"yes"``
or ``1`` as ``true`` and ``0`` as 1970-01-01. Strict mode takes only the JSON type a field
declares; dates and times are the one JSON-natural conversion kept (:data:`IsoDate`,
:data:`IsoDateTime`: ISO 8601 strings, never numbers). A field declared without ``None`` in its
type (an update's "leave out to keep" field, :func:`optional`) refuses an explicit ``null`` with
a problem naming it; ``null`` for a field that can be empty clears it.

Here, below ``auth`` and ``gateway``, so that the SQLModel entities' ``XCreate``/``XUpdate``
bodies (hub/tables/) and the gateway's other bodies share one definition.
"""

from __future__ import annotations

import functools
import types
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas import TEXT_CONTROL, custom_error, refuse_unix_time

_SECRET_FIELDS = frozenset({"password", "new_password"})


def _clean(value: Any, *, secret: bool = False) -> Any:
    """Refuse control characters (PostgreSQL cannot store NUL; no name contains one) and
    normalise text to NFC, recursively; passwords are checked but kept byte for byte."""
    if isinstance(value, str):
        if TEXT_CONTROL.search(value):
            raise ValueError(
                "control characters are not allowed / không được chứa ký tự điều khiển"
            )
        return value if secret else unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v, secret=k in _SECRET_FIELDS) for k, v in value.items()}
    return value


def _iso_date(value: Any) -> Any:
    """Only an ISO 8601 string (or a date) becomes a date; a number is not taken as a Unix
    time, and nothing else is parsed."""
    return refuse_unix_time(value, "date_type", "Date must be an ISO 8601 string (YYYY-MM-DD)",
                            "Ngày phải là chuỗi theo ISO 8601 (YYYY-MM-DD)", strict=date)


def _iso_datetime(value: Any) -> Any:
    return refuse_unix_time(value, "datetime_type",
                            "Time must be an ISO 8601 string, not a number",
                            "Thời điểm phải là chuỗi theo ISO 8601, không phải một số",
                            strict=datetime)


# Strict(False): the string is parsed as in JSON mode; the before-validator refuses the rest.
IsoDate = Annotated[date, Strict(False), BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, Strict(False), BeforeValidator(_iso_datetime)]


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def optional(**constraints: Any) -> Any:
    """A field an update may leave out (``None``: not given, keep the current value) but not
    send as ``null``: its type has no ``None``, and the schema shows no ``null`` default."""
    return Field(default=None, json_schema_extra=_drop_default, **constraints)


def _admits_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    if get_origin(annotation) is Annotated:
        return _admits_none(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_admits_none(a) for a in get_args(annotation))
    return False


@functools.cache
def _not_nullable(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, field in model.model_fields.items()
                     if not _admits_none(field.annotation))


class StrictBody(BaseModel):
    """An admin request body: unknown fields refused, no type coercion, ``null`` only where a
    field's type allows it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if value is None and name in _not_nullable(cls):
            if cls.model_fields[name].is_required():
                raise custom_error("null_not_allowed", f"{name} must not be null",
                                   f"{name} không được là null")
            raise custom_error(
                "null_not_allowed",
                f"{name} cannot be null: leave the field out to keep its value",
                f"{name} không được là null: bỏ trường này đi nếu muốn giữ nguyên giá trị",
            )
        return value


class Body(StrictBody):
    """A strict body whose text is cleaned: stripped, NFC, no control characters."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _text(cls, data: Any) -> Any:
        return _clean(data)


_Body = Body  # the name the gateway's routers import
