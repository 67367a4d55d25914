"""Wire models of the admin API: request bodies forbid unknown fields; secrets appear only in
the one answer that creates them.

Request bodies are validated strictly (:class:`StrictBody`): FastAPI validates the parsed JSON
in pydantic's Python mode, where lax mode would take ``"yes"`` or ``1`` as ``true`` and ``0`` as
1970-01-01. Strict mode takes only the JSON type a field declares; dates and times are the one
JSON-natural conversion kept (:data:`IsoDate`, :data:`IsoDateTime`: ISO 8601 strings, never
numbers). A field declared without ``None`` in its type (an update's "leave out to keep" field,
:func:`optional`) refuses an explicit ``null`` with a problem naming it; ``null`` for a field
that can be empty clears it.
"""

from __future__ import annotations

import functools
import types
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hub._tables import AdminUserPublic, ApiKeyPublic, ClientPublic
from schemas import TEXT_CONTROL
from schemas._fields import custom_error

Scope = Literal["records:read", "records:write", "changes:read", "admin"]
Role = Literal["hub_admin", "agency_admin"]
AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]


def _default_scopes() -> list[Scope]:
    return ["records:read", "records:write", "changes:read"]


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


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _iso_date(value: Any) -> Any:
    """Only an ISO 8601 string becomes a date: pydantic reads a number, or a string of digits,
    as a Unix time (0 is 1970-01-01)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or _is_number(value):
        raise custom_error("date_type", "Date must be an ISO 8601 string (YYYY-MM-DD)",
                           "Ngày phải là chuỗi theo ISO 8601 (YYYY-MM-DD)")
    return value


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _is_number(value):
        raise custom_error("datetime_type", "Time must be an ISO 8601 string, not a number",
                           "Thời điểm phải là chuỗi theo ISO 8601, không phải một số")
    return value


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


class _Body(StrictBody):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _text(cls, data: Any) -> Any:
        return _clean(data)


class SessionRequest(_Body):
    username: str = Field(min_length=1, max_length=200)
    password: SecretStr = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    scope: str
    username: str
    role: str
    agency: str | None


class SuccessorIn(_Body):
    code: str = Field(min_length=1, max_length=40)
    effective_on: IsoDate
    note: str | None = Field(default=None, max_length=2000)


class AgencyCreate(_Body):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=300)
    kind: str = Field(min_length=1, max_length=40)
    level: Literal["central", "provincial", "local", "other"]
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None
    note: str | None = Field(default=None, max_length=2000)
    successors: list[SuccessorIn] = Field(default_factory=list, max_length=100)


class AgencyUpdate(_Body):
    name: str = optional(min_length=1, max_length=300)
    kind: str = optional(min_length=1, max_length=40)
    level: Literal["central", "provincial", "local", "other"] = optional()
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None
    note: str | None = Field(default=None, max_length=2000)
    # When given, replaces the agency's successor links ([] removes them all).
    successors: list[SuccessorIn] = optional(max_length=100)


class SuccessorOut(BaseModel):
    code: str
    effective_on: date
    note: str | None


class AgencyOut(BaseModel):
    code: str
    name: str
    kind: str
    level: str
    valid_from: date | None
    valid_until: date | None
    note: str | None
    successors: list[SuccessorOut]


class AgencyListOut(BaseModel):
    items: list[AgencyOut]


class ClientCreate(_Body):
    agency: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=300)
    client_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{3,100}$")
    scopes: list[Scope] = Field(default_factory=_default_scopes, max_length=10)
    auth_method: AuthMethod = "client_secret_basic"
    jwks: dict[str, Any] | None = None


class ClientUpdate(_Body):
    name: str = optional(min_length=1, max_length=300)
    scopes: list[Scope] = optional(max_length=10)
    active: bool = optional()


# The answers' models are the SQLModel entities' public shapes (hub/_tables*.py), under the
# names the contract has always given them; no docstring, so no description in the contract.
class ClientOut(ClientPublic):
    pass


class ClientCreated(ClientOut):
    client_secret: str | None = Field(description="Shown once; null for private_key_jwt")


class ClientListOut(BaseModel):
    items: list[ClientOut]


class ApiKeyCreate(_Body):
    client_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=300)
    scopes: list[Scope] | None = Field(default=None, max_length=10)
    expires_at: IsoDateTime | None = None


class ApiKeyRotate(_Body):
    overlap_seconds: int | None = Field(default=None, ge=0, le=90 * 24 * 3600)
    expires_at: IsoDateTime | None = None


class ApiKeyOut(ApiKeyPublic):
    pass


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="Shown once, never stored")


class ApiKeyListOut(BaseModel):
    items: list[ApiKeyOut]


class AdminUserCreate(_Body):
    username: str = Field(min_length=3, max_length=200, pattern=r"^[A-Za-z0-9._@+-]+$")
    role: Role
    agency: str | None = Field(default=None, max_length=40)
    display_name: str | None = Field(default=None, max_length=300)
    password: SecretStr | None = Field(default=None, min_length=12, max_length=1024)
    sso_subject: str | None = Field(default=None, max_length=300)


class AdminUserUpdate(_Body):
    role: Role = optional()
    agency: str | None = Field(default=None, max_length=40)
    active: bool = optional()
    display_name: str = optional(max_length=300)
    sso_subject: str | None = Field(default=None, max_length=300)


class PasswordReset(_Body):
    password: SecretStr = Field(min_length=12, max_length=1024)


class AdminUserOut(AdminUserPublic):
    pass


class AdminUserListOut(BaseModel):
    items: list[AdminUserOut]


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    actor_kind: str
    agency: str | None
    action: str
    target: str | None
    request_id: str | None
    outcome: str
    details: dict[str, Any]
    entry_hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None
