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

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, SecretStr

# The strict body machinery and the entities' bodies are defined beside the tables (hub); the
# routers keep importing them from here.
from hub import Body as _Body
from hub import IsoDate as IsoDate
from hub import IsoDateTime as IsoDateTime
from hub import StrictBody as StrictBody
from hub import optional as optional
from hub.tables import AdminUserCreate as AdminUserCreate
from hub.tables import AdminUserPublic, AgencyPublic, ApiKeyPublic, ClientPublic
from hub.tables import AdminUserUpdate as AdminUserUpdate
from hub.tables import AgencyCreate as AgencyCreate
from hub.tables import AgencyUpdate as AgencyUpdate
from hub.tables import ApiKeyCreate as ApiKeyCreate
from hub.tables import ApiKeyRotate as ApiKeyRotate
from hub.tables import AuthMethod as AuthMethod
from hub.tables import ClientCreate as ClientCreate
from hub.tables import ClientUpdate as ClientUpdate
from hub.tables import Role as Role
from hub.tables import Scope as Scope
from hub.tables import SuccessorIn as SuccessorIn
from hub.tables import SuccessorOut as SuccessorOut


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


class AgencyOut(AgencyPublic):
    pass


class AgencyListOut(BaseModel):
    items: list[AgencyOut]


# The answers' models are the SQLModel entities' public shapes (hub/tables/), under the
# names the contract has always given them; no docstring, so no description in the contract.
class ClientOut(ClientPublic):
    pass


class ClientCreated(ClientOut):
    client_secret: str | None = Field(description="Shown once; null for private_key_jwt")


class ClientListOut(BaseModel):
    items: list[ClientOut]


class ApiKeyOut(ApiKeyPublic):
    pass


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="Shown once, never stored")


class ApiKeyListOut(BaseModel):
    items: list[ApiKeyOut]


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
