"""Wire models of the admin API: request bodies forbid unknown fields; secrets appear only in
the one answer that creates them."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from schemas import TEXT_CONTROL

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


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

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
    effective_on: date
    note: str | None = Field(default=None, max_length=2000)


class AgencyCreate(_Body):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=300)
    kind: str = Field(min_length=1, max_length=40)
    level: Literal["central", "provincial", "local", "other"]
    valid_from: date | None = None
    valid_until: date | None = None
    note: str | None = Field(default=None, max_length=2000)
    successors: list[SuccessorIn] = Field(default_factory=list, max_length=100)


class AgencyUpdate(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    kind: str | None = Field(default=None, min_length=1, max_length=40)
    level: Literal["central", "provincial", "local", "other"] | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    note: str | None = Field(default=None, max_length=2000)
    # When given, replaces the agency's successor links.
    successors: list[SuccessorIn] | None = Field(default=None, max_length=100)


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
    name: str | None = Field(default=None, min_length=1, max_length=300)
    scopes: list[Scope] | None = Field(default=None, max_length=10)
    active: bool | None = None


class ClientOut(BaseModel):
    client_id: str
    agency: str
    name: str
    scopes: list[str]
    auth_method: str
    active: bool
    has_jwks: bool


class ClientCreated(ClientOut):
    client_secret: str | None = Field(description="Shown once; null for private_key_jwt")


class ClientListOut(BaseModel):
    items: list[ClientOut]


class ApiKeyCreate(_Body):
    client_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=300)
    scopes: list[Scope] | None = Field(default=None, max_length=10)
    expires_at: datetime | None = None


class ApiKeyRotate(_Body):
    overlap_seconds: int | None = Field(default=None, ge=0, le=90 * 24 * 3600)
    expires_at: datetime | None = None


class ApiKeyOut(BaseModel):
    key_id: str
    client_id: str
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


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
    role: Role | None = None
    agency: str | None = Field(default=None, max_length=40)
    active: bool | None = None
    display_name: str | None = Field(default=None, max_length=300)
    sso_subject: str | None = Field(default=None, max_length=300)


class PasswordReset(_Body):
    password: SecretStr = Field(min_length=12, max_length=1024)


class AdminUserOut(BaseModel):
    username: str
    display_name: str
    role: str
    agency: str | None
    active: bool
    has_password: bool
    sso_subject: str | None
    created_at: datetime
    last_login_at: datetime | None


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
