"""Connector definitions: small immutable option objects with named defaults, validated when
a connector is saved (a bad definition is refused then, not at 3 a.m. in the worker).

Secrets never live here: :class:`Secrets` is sealed separately (see ``_store``).
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

import schemas
from connectors._cursor_values import check_cursor_format
from connectors._mapping import MappingSpec


class OffOrigin(ValueError):
    """A URL that would take the connector's credentials to another origin (422)."""


def check_outbound_url(url: str) -> None:
    """The form of a URL the hub will call: http(s), a host, no credentials, no query or
    fragment. Where it points is the outbound guard's business (``connectors._outbound``),
    checked with the hub's allow-list when the connector is saved and at every connection."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("base_url must be an http(s) URL")
    if parts.username or parts.password:
        raise ValueError("base_url must not carry credentials; use the connector's secrets")
    if parts.query or parts.fragment:
        raise ValueError("base_url must not carry a query or fragment")
    try:
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        raise ValueError("base_url has an invalid port") from None


def check_relative_path(path: str, field: str) -> None:
    """A path on the connector's own origin: never an absolute or protocol-relative URL,
    which would carry the stored credentials to another host."""
    if "://" in path or path.startswith(("//", "\\")) or "\\" in path:
        raise OffOrigin(f"{field} must be a path on base_url (/...), not a URL to another "
                        "origin")
    if not path.startswith("/"):
        raise ValueError(f"{field} must start with /")

DEFAULT_PAGE_SIZE = 100
DEFAULT_SCHEDULE_SECONDS = 3600

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]
ParamName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._\[\]-]+$")]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpOptions(_Options):
    """httpx timeouts (seconds) and connection limits, per connector."""

    connect_timeout: float = Field(default=5.0, gt=0, le=60)
    read_timeout: float = Field(default=30.0, gt=0, le=300)
    write_timeout: float = Field(default=10.0, gt=0, le=300)
    pool_timeout: float = Field(default=5.0, gt=0, le=60)
    max_connections: int = Field(default=4, ge=1, le=50)
    max_keepalive: int = Field(default=2, ge=0, le=50)


class RetryPolicy(_Options):
    """Retries of one request: transport errors, 429 (Retry-After honoured), 502/503/504 and,
    a few times only, 500, with jittered exponential back-off, bounded by attempts and a
    deadline. A Retry-After longer than ``max_retry_after_seconds`` ends the request's retries
    (the run fails and the schedule tries later) rather than calling before it has passed."""

    attempts: int = Field(default=8, ge=1, le=50)
    initial_seconds: float = Field(default=0.2, ge=0, le=60)
    max_seconds: float = Field(default=10.0, ge=0, le=600)
    deadline_seconds: float = Field(default=120.0, gt=0, le=3600)
    max_retry_after_seconds: float = Field(default=60.0, ge=0, le=3600)
    # A 500 is often a real bug of the agency system, sometimes a passing one: a bounded
    # number of tries of the same request before the run stops.
    server_error_attempts: int = Field(default=3, ge=1, le=20)


class BreakerOptions(_Options):
    """After ``failure_threshold`` failed runs in a row the connector rests (open circuit)
    for ``open_seconds``, doubling up to ``max_open_seconds`` while it keeps failing."""

    failure_threshold: int = Field(default=3, ge=1, le=100)
    open_seconds: float = Field(default=60.0, ge=1, le=86400)
    max_open_seconds: float = Field(default=3600.0, ge=1, le=7 * 86400)


class AuthConfig(_Options):
    """``oauth2``: client credentials at the agency's own token endpoint (Authlib);
    ``api_key``: a header; ``none``."""

    type: Literal["none", "api_key", "oauth2"] = "none"
    header: str = Field(default="X-API-Key", max_length=100, pattern=r"^[A-Za-z0-9-]+$")
    token_path: str = Field(default="/oauth/token", max_length=500)  # or an absolute URL
    client_id: str | None = Field(default=None, max_length=200)
    method: Literal["client_secret_basic", "client_secret_post", "private_key_jwt"] = (
        "client_secret_basic"
    )
    scope: str | None = Field(default=None, max_length=500)
    audience: str | None = Field(default=None, max_length=500)  # of private_key_jwt assertions
    refresh_margin_seconds: float = Field(default=30.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _check(self) -> AuthConfig:
        if self.type == "oauth2" and not self.client_id:
            raise ValueError("oauth2 needs client_id")
        if self.token_path.startswith(("http://", "https://")):
            # An absolute token URL (an agency's own authorization server): the client
            # secret goes there only; changing it later demands the secret again.
            check_outbound_url(self.token_path)
        else:
            check_relative_path(self.token_path, "token_path")
        return self


class Pagination(_Options):
    """One pagination style: ``page`` (page number + size), ``offset`` (offset + limit),
    ``cursor`` (a token from the body), ``link`` (RFC 8288 ``Link: <...>; rel="next"``),
    ``none`` (one page)."""

    style: Literal["page", "offset", "cursor", "link", "none"] = "page"
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=10_000)
    size_param: ParamName | None = "page_size"
    page_param: ParamName = "page"
    first_page: int = Field(default=1, ge=0)
    offset_param: ParamName = "offset"
    cursor_param: ParamName = "cursor"
    next_cursor_path: str = Field(default="next_cursor", max_length=200)
    # Where the answer says how many records the query matches: a change between pages of
    # a page-number walk is a shift (see docs/connectors.md, "Paging on a live source").
    total_path: str | None = Field(default=None, max_length=200)


class Incremental(_Options):
    """An updated-since parameter (inclusive), fed with the largest ``cursor_field`` value
    committed. Values are compared by ``cursor_format`` (local times in ``timezone``).

    With ``ordered`` (the agency lists records by ``cursor_field`` ascending), page and
    offset paging re-anchor every request on the last value seen instead of walking page
    numbers, which stays exact while records move on the source; an agency whose order is
    something else must say ``ordered: false`` (page numbers are then walked, and a shift
    can only be detected, not avoided)."""

    since_param: ParamName
    cursor_field: str = Field(max_length=200)
    cursor_format: str = Field(default="iso", max_length=40)
    timezone: str = Field(default="Asia/Ho_Chi_Minh", max_length=60)
    ordered: bool = True

    @field_validator("cursor_format")
    @classmethod
    def _format(cls, value: str) -> str:
        return check_cursor_format(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value


class KeySweep(_Options):
    """How to ask the agency for keys only (reconciliation): the stream's own path and
    paging with these extra parameters (e.g. ``{"truong": "ma_so,cap_nhat_luc,trang_thai"}``)
    and a larger page. The answer must carry the key, ``cursor_field`` and the
    ``deleted_when`` field of every record."""

    params: dict[str, str] = Field(default_factory=dict, max_length=20)
    page_size: int = Field(default=1000, ge=1, le=10_000)


class StreamConfig(_Options):
    """One endpoint of the agency, mapped onto one record type."""

    name: Name
    record_type: schemas.RecordTypeName
    path: str = Field(max_length=500)
    records_path: str | None = Field(default=None, max_length=200)  # None: list or "items"
    params: dict[str, str] = Field(default_factory=dict, max_length=20)
    pagination: Pagination = Pagination()
    incremental: Incremental | None = None
    keys: KeySweep | None = None
    mapping: MappingSpec

    @model_validator(mode="after")
    def _check(self) -> StreamConfig:
        check_relative_path(self.path, "path")
        self.mapping.check_against(self.record_type)
        if self.keys is not None and self.incremental is None:
            raise ValueError("keys (reconciliation) needs incremental: update times")
        return self

    @property
    def updated_at_from(self) -> str | None:
        """Where a record's ``source_updated_at`` comes from when the mapping declares none:
        the replication key (standard v1.1)."""
        return self.incremental.cursor_field if self.incremental is not None else None

    @property
    def anchored(self) -> bool:
        """Re-anchored on the replication key (shift-safe), not walked by page number."""
        return (self.incremental is not None and self.incremental.ordered
                and self.pagination.style in ("page", "offset"))


class ConnectorConfig(_Options):
    """What every kind's definition has (``connectors._kinds``): its ``kind``, the retries of
    its requests and its circuit breaker. A kind that sends credentials somewhere names the
    places in :meth:`destinations` (checked by the outbound guard when it is saved)."""

    kind: str
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerOptions = BreakerOptions()

    def destinations(self) -> list[str]:
        return []

    def credential_origins(self) -> set[tuple[str, str, int]]:
        return set()


class HttpConfig(ConnectorConfig):
    """A kind that calls an HTTP API at ``base_url`` with the connector's credentials."""

    base_url: str = Field(max_length=500)
    auth: AuthConfig = AuthConfig()
    http: HttpOptions = HttpOptions()

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        check_outbound_url(value)
        return value.rstrip("/")

    def destinations(self) -> list[str]:
        """Every URL the connector sends credentials to: base_url, and an absolute token URL."""
        urls = [self.base_url]
        if self.auth.type == "oauth2" and self.auth.token_path.startswith(("http://",
                                                                           "https://")):
            urls.append(self.auth.token_path)
        return urls

    def credential_origins(self) -> set[tuple[str, str, int]]:
        """(scheme, host, port) of each destination: what the sealed secrets are bound to."""
        found = set()
        for url in self.destinations():
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            found.add((parts.scheme, host, parts.port or (443 if parts.scheme == "https"
                                                          else 80)))
        return found


class RestConfig(HttpConfig):
    """A generic REST/JSON agency API."""

    kind: Literal["rest"] = "rest"
    streams: list[StreamConfig] = Field(min_length=1, max_length=20)
    # The worker reconciles (a key-only sweep, see ``_reconcile``) this often, after a pull.
    reconcile_every_seconds: int | None = Field(default=None, ge=60, le=366 * 86400)

    @model_validator(mode="after")
    def _unique(self) -> RestConfig:
        names = [s.name for s in self.streams]
        if len(names) != len(set(names)):
            raise ValueError("stream names must be unique")
        return self


class Secrets(BaseModel):
    """What is sealed at rest: an OAuth2 client secret or private key (PEM or JWK JSON,
    for private_key_jwt), or an API key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_secret: SecretStr | None = None
    private_key: SecretStr | None = None
    api_key: SecretStr | None = None

    def names(self) -> list[str]:
        return [n for n in SECRET_NAMES if getattr(self, n)]


SECRET_NAMES = ("client_secret", "private_key", "api_key")
