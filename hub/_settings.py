"""Settings: one typed object, built once at start-up and passed down.

Every value can be set by a ``RIGHTSHUB_*`` environment variable or a ``.env`` file.
Deep code never reads the environment: it receives a :class:`Settings`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    dev_principals: list[DevPrincipal] = []

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

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        raw = self.database_url.split(":///", 1)[1] if ":///" in self.database_url else ""
        return Path(raw) if raw and raw != ":memory:" else None
