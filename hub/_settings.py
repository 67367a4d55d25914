"""Settings: one typed object, built once at start-up and passed down.

Every value can be set by a ``RIGHTSHUB_*`` environment variable or a ``.env`` file.
Deep code never reads the environment: it receives a :class:`Settings`.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/rightshub.db"


class DevPrincipal(BaseModel):
    """A caller known from configuration until the security issue brings OAuth2 and API keys.

    The token is compared in constant time; it never appears in a log line.
    """

    token: str = Field(min_length=16)
    agency: str
    client_id: str
    scopes: list[str] = ["records:read", "records:write", "changes:read"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RIGHTSHUB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["embedded", "development", "production", "test"] = "embedded"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    database_url: str = DEFAULT_DATABASE_URL
    database_pool_size: int = Field(default=10, ge=1, le=200)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True

    # Limits that protect the hub from what a client sends.
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_batch_records: int = Field(default=1000, ge=1, le=10000)
    max_page_size: int = Field(default=200, ge=1, le=1000)
    default_page_size: int = Field(default=50, ge=1, le=1000)
    idempotency_ttl_hours: int = Field(default=48, ge=1)

    # Callers known from configuration (see DevPrincipal). JSON list in the environment.
    # Ignored when environment is "production".
    dev_principals: list[DevPrincipal] = []

    # OAuth2 and API keys (auth/). The secret key keys every HMAC (client secrets, API keys)
    # and encrypts the token-signing keys; outside production one is generated and kept next
    # to the SQLite database (or in var/) when unset, production refuses to start without it.
    secret_key: SecretStr | None = None
    public_url: str | None = None  # the hub's public base URL; default http://host:port
    issuer: str | None = None  # the tokens' "iss"; default public_url
    token_audience: str = "urn:rightshub:api"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=24 * 3600)
    signing_algorithm: Literal["ES256", "RS256"] = "ES256"

    # Rate limits (``limits`` notation, e.g. "600/minute"; "" turns one off): per client after
    # authentication, per IP before routing. Counted in memory (one process) unless
    # ``rate_limit_storage`` names Redis (``redis://host:6379/0``), shared by every process.
    rate_limit_client: str = "600/minute"
    rate_limit_ip: str = "1200/minute"
    rate_limit_storage: str = "memory://"

    # Admin accounts (auth/_admins.py): failed logins per username before a lockout, and
    # its length. OIDC single sign-on for the console is on when the issuer is set; the
    # IdP's ``sub`` (or e-mail) must match an existing admin account.
    admin_login_max_failures: int = Field(default=5, ge=1, le=100)
    admin_lockout_seconds: int = Field(default=900, ge=1)
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"

    # CORS is closed unless origins are listed (JSON list or comma-separated in the env).
    cors_origins: Annotated[list[str], NoDecode] = []

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [o.strip() for o in text.split(",") if o.strip()]
        return value

    @field_validator("rate_limit_client", "rate_limit_ip")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        if value.strip():
            from limits import parse_many

            parse_many(value)  # raises ValueError on a bad limit string
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept plain ``postgresql://`` and ``sqlite://`` URLs and pick the async drivers.

        asyncpg was chosen by measurement (see docs/benchmarks.md): it served a 50-row list
        at about 1.5x psycopg's rate on this kind of machine.
        """
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql+psycopg://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("database_url must be a PostgreSQL or SQLite URL")
        return value

    @model_validator(mode="after")
    def _production_needs_secret_key(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key is None or len(self.secret_key.get_secret_value()) < 32
        ):
            raise ValueError(
                "RIGHTSHUB_SECRET_KEY (at least 32 characters) is required in production"
            )
        return self

    @cached_property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @cached_property
    def issuer_url(self) -> str:
        return (self.issuer or self.base_url).rstrip("/")

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        raw = self.database_url.split(":///", 1)[1] if ":///" in self.database_url else ""
        return Path(raw) if raw and raw != ":memory:" else None
