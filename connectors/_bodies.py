"""The admin API's connector bodies: their ``kind`` is one of the kinds registered in
``connectors._kinds`` (an enum in the contract), so they live here rather than beside the
table (hub/tables/_connector.py), whose ``ConnectorBase`` they build on. Strict (no type
coercion, unknown fields refused) but, unlike the entities' ``Body``, text is kept as sent:
a connector's config is the agency's own.

No docstrings on the bodies but :class:`SecretsIn`'s: a docstring would become the schema's
description in the contract (openapi/openapi.json)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetJsonSchemaHandler, SecretStr
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from connectors._config import Secrets
from connectors._kinds import connector_kinds, find_kind, kind_names
from hub import StrictBody, optional
from hub.tables import ConnectorBase


def _expected() -> str:
    names = [repr(n) for n in kind_names()]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _registered_kind(value: object) -> object:
    """A kind of ``connectors``' registry; any other value is refused as a Literal of the
    registered names would refuse it (the same 400 problem, the same words)."""
    if not isinstance(value, str) or find_kind(value) is None:
        raise PydanticCustomError("literal_error", "Input should be {expected}",
                                  {"expected": _expected()})
    return value


class _KindSchema:
    """In the contract: the registered kinds, an enum."""

    def __get_pydantic_json_schema__(
        self, core: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"enum": list(kind_names()), "type": "string"}


KindName = Annotated[str, BeforeValidator(_registered_kind), _KindSchema()]


class _ConfigSchema:
    """In the contract: the config models of the registered kinds, named when the schema is
    made (this module may be imported before every kind has registered)."""

    def __get_pydantic_json_schema__(
        self, core: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core)
        schema["description"] = (
            " or ".join(k.config.__name__ for k in connector_kinds())
            + " (see docs/connectors.md): the agency's address, auth, streams and mappings")
        return schema


ConfigObject = Annotated[dict[str, Any], _ConfigSchema()]


class SecretsIn(StrictBody):
    """Sealed at rest and never shown again; only which ones are set is."""

    client_secret: SecretStr | None = Field(default=None, max_length=2000)
    private_key: SecretStr | None = Field(default=None, max_length=20000)
    api_key: SecretStr | None = Field(default=None, max_length=2000)

    def unwrap(self) -> Secrets:
        return Secrets.model_validate(
            {k: v.get_secret_value() for k, v in self if v is not None})


# StrictBody's config over SQLModel's (mypy sees two model_config types; pydantic merges them).
class ConnectorCreate(ConnectorBase, StrictBody):  # type: ignore[misc]
    id: str | None = Field(  # type: ignore[assignment]  # made when left out
        default=None, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    agency: str = Field(max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=300)
    kind: KindName
    config: ConfigObject
    secrets: SecretsIn = SecretsIn()
    schedule_seconds: int = Field(default=3600, ge=10, le=31 * 86400)
    enabled: bool = True


class ConnectorUpdate(StrictBody):
    name: str = optional(min_length=1, max_length=300)
    config: dict[str, Any] = optional()
    secrets: SecretsIn = optional()
    schedule_seconds: int = optional(ge=10, le=31 * 86400)
    enabled: bool = optional()
