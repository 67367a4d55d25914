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
    # During a key change (``rightshub secret-key rotate``): the key being replaced. Every
    # verifier and decrypter also accepts it until it is removed; nothing new is made with it.
    secret_key_previous: SecretStr | None = None
    public_url: str | None = None  # the hub's public base URL; default http://host:port
    issuer: str | None = None  # the tokens' "iss"; default public_url
    token_audience: str = "urn:rightshub:api"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=24 * 3600)
    signing_algorithm: Literal["ES256", "RS256"] = "ES256"
    # ``private_key_jwt`` client assertions (RFC 7523) valid longer than this (exp - iat, or
    # exp - now without iat) are refused: a leaked assertion must not open the hub for a year.
    client_assertion_max_lifetime_seconds: int = Field(default=300, ge=30, le=3600)
    # ``/metrics`` asks for ``Authorization: Bearer <metrics_token>`` when this is set; it is
    # open (as for a scraper on a private network) when unset.
    metrics_token: SecretStr | None = Field(default=None, min_length=16)

    # Rate limits (``limits`` notation, e.g. "600/minute"; "" turns one off): per client after
    # authentication, per IP before routing. Counted in memory (one process) unless
    # ``rate_limit_storage`` names Redis (``redis://host:6379/0``), shared by every process.
    rate_limit_client: str = "600/minute"
    rate_limit_ip: str = "1200/minute"
    rate_limit_storage: str = "memory://"
    # Reverse proxies (addresses or CIDRs; JSON list or comma-separated in the env) whose
    # X-Forwarded-For and X-Forwarded-Proto are believed: the client address they name is the
    # one rate limits and the admin login throttle count. Empty: the socket peer, and the
    # headers are ignored (a client cannot pick its own address).
    trusted_proxies: Annotated[list[str], NoDecode] = []

    # Admin logins (auth/_login_throttle.py), counted where the rate limits are (memory, or
    # Redis when ``rate_limit_storage`` names it). Per (username, client address) the first
    # ``admin_login_free_failures`` failures cost nothing and each further one makes that pair
    # wait d, 2d, 4d... seconds (d = ``admin_login_first_delay_seconds``), at most
    # ``admin_login_max_delay_seconds`` (429 with Retry-After;
    # the server never sleeps). Per address, ``admin_login_ip_limit`` failures across
    # usernames (``limits`` notation). An account is locked for ``admin_lockout_seconds`` only
    # after ``admin_account_lock_limit`` failures from any addresses, and the lock is audited.
    admin_login_free_failures: int = Field(default=3, ge=0, le=100)
    admin_login_first_delay_seconds: int = Field(default=1, ge=1, le=3600)
    admin_login_max_delay_seconds: int = Field(default=900, ge=1, le=24 * 3600)
    admin_login_ip_limit: str = "30/hour"
    admin_account_lock_limit: str = "50/hour"
    admin_lockout_seconds: int = Field(default=900, ge=1)
    # Admin sessions (auth/_sessions.py), held in the database: a console sign-in and the
    # admin tokens of a login end after ``admin_session_idle_seconds`` without a request and
    # ``admin_session_max_seconds`` after sign-in at the latest; logout, a password reset, a
    # change of role, agency or SSO link and deactivation end them at once.
    admin_session_idle_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    admin_session_max_seconds: int = Field(default=8 * 3600, ge=300, le=30 * 24 * 3600)
    # OIDC single sign-on for the console is on when the issuer is set; the IdP's ``sub``
    # (or e-mail) must match an existing admin account.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"

    # Product archive (hub/archive/). Files live under ``archive_dir`` (default: "archive"
    # next to the SQLite database, var/archive for PostgreSQL) or in an S3-compatible bucket;
    # uploads in progress always sit under ``archive_dir``/uploads (a volume shared by every
    # gateway process when there are several). ``archive_clamd``: "tcp://host:3310" or
    # "unix:///run/clamav/clamd.ctl" turns malware scanning on.
    archive_dir: Path | None = None
    archive_storage: Literal["local", "s3"] = "local"
    archive_s3_endpoint_url: str | None = None
    archive_s3_bucket: str = "rightshub-archive"
    archive_s3_region: str = "us-east-1"
    archive_s3_access_key_id: str | None = None
    archive_s3_secret_access_key: SecretStr | None = None
    archive_s3_prefix: str = ""
    archive_max_file_bytes: int = Field(default=8 * 1024**3, ge=1024)
    archive_simple_upload_max_bytes: int = Field(default=64 * 1024**2, ge=1024)
    archive_allowed_types: Annotated[list[str], NoDecode] = [
        "application/pdf", "application/epub+zip", "video/mp4", "video/webm", "audio/mpeg",
        "audio/mp4", "audio/ogg", "audio/x-wav", "image/jpeg", "image/png", "image/webp",
        "image/gif", "image/tiff", "text/plain", "text/vtt", "application/x-subrip",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ]
    archive_upload_expiry_hours: float = Field(default=24, gt=0)
    archive_link_ttl_seconds: int = Field(default=300, ge=10, le=7 * 24 * 3600)
    archive_clamd: str | None = None
    # The archive duty (guidance section 2b): products paid for by these funding sources must
    # have a file deposited within ``archive_deposit_days`` of their release (hub/archive/_duty.py).
    # Both central and local budgets are the state budget (Law on the State Budget, art. 4).
    archive_deposit_days: int = Field(default=90, ge=1, le=3650)
    archive_duty_funding_sources: Annotated[list[str], NoDecode] = [
        "state_budget", "local_budget"]

    # CORS is closed unless origins are listed (JSON list or comma-separated in the env).
    cors_origins: Annotated[list[str], NoDecode] = []

    # The outbound guard (connectors/_outbound.py) that every call out goes through (pull
    # connectors, hub feeds, deliveries, token calls, OIDC discovery) refuses every address
    # that is not public (loopback, private, link-local, CGNAT, multicast, reserved...) after
    # resolving the name, in every environment. ``outbound_allow`` adds what may be reached
    # anyway: CIDRs (any port) or host:port, comma-separated. Only the hub's own configuration
    # sets it, never an agency admin. Answers are capped: a page of a pull, a token answer, a
    # subscriber's answer to a delivery.
    outbound_allow: Annotated[list[str], NoDecode] = []
    outbound_max_page_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    outbound_max_token_bytes: int = Field(default=64 * 1024, ge=1024)
    outbound_max_delivery_answer_bytes: int = Field(default=64 * 1024, ge=1024)

    # Pull connectors (connectors/). Their secrets (client secrets, private keys, API keys) are
    # encrypted at rest with a key derived from ``connector_secret_key``, or from the secret key
    # when unset. The worker runs inside ``rightshub serve`` when ``worker_in_process`` is on
    # (None: on for the embedded SQLite database outside tests); ``rightshub worker`` runs it
    # alone. A worker holds a connector for ``worker_lease_seconds``, renewed while it runs.
    connector_secret_key: SecretStr | None = None
    # During a rotation of ``connector_secret_key`` (``secret-key rotate`` re-seals under it).
    connector_secret_key_previous: SecretStr | None = None
    worker_in_process: bool | None = None
    worker_id: str | None = None  # default host:pid
    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    # Short, renewed every third of it while a run goes on (and in every page's transaction,
    # which fails if the lease was lost): a killed worker's connectors resume within seconds.
    worker_lease_seconds: float = Field(default=10.0, ge=1, le=3600)
    # ``serve --demo`` (``make run``) starts the reference agency simulator on this port (the
    # next free one when taken).
    demo_simulator_port: int = Field(default=8100, ge=1024, le=65535)

    # Push to subscribers (connectors/_delivery.py): events per request, explicit timeouts
    # (seconds), jittered exponential back-off between failed attempts of a batch, dead letters
    # after ``delivery_max_attempts`` (the defaults ride out 4-8 hours of downtime). A worker
    # holds a subscription for the lease while it sends (longer than a request can take); a
    # call waits ``delivery_wait_seconds`` for its deliveries, slower ones go on in the
    # background. Production refuses plain-http endpoints unless ``delivery_allow_http``.
    delivery_batch_size: int = Field(default=100, ge=1, le=1000)
    delivery_max_attempts: int = Field(default=20, ge=1, le=100)
    delivery_backoff_base_seconds: float = Field(default=1.0, gt=0, le=3600)
    delivery_backoff_max_seconds: float = Field(default=3600.0, gt=0, le=86400)
    delivery_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    delivery_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    delivery_lease_seconds: float = Field(default=120.0, ge=1, le=3600)
    delivery_concurrency: int = Field(default=8, ge=1, le=256)
    delivery_wait_seconds: float = Field(default=2.0, gt=0, le=300)
    delivery_log_days: int = Field(default=30, ge=1, le=3650)  # delivery attempts kept
    delivery_allow_http: bool | None = None

    # GraphQL at /graphql (gateway/graphql). Introspection and the GraphiQL page default to on
    # everywhere but production (None = decided by ``environment``, see graphql_* properties);
    # production also masks unexpected errors. The limits refuse a document before it runs.
    graphql_introspection: bool | None = None
    graphql_graphiql: bool | None = None
    graphql_max_depth: int = Field(default=10, ge=2, le=50)
    graphql_max_tokens: int = Field(default=2000, ge=100, le=100_000)
    graphql_max_aliases: int = Field(default=30, ge=1, le=1000)
    graphql_max_page_size: int = Field(default=200, ge=1, le=1000)
    # The fast executor and the prepared-query path (gateway/graphql/_fast, _prepared) change
    # how soon a result comes, never what it is; false runs every document the plain
    # Strawberry/graphql-core way (tests/graphql/test_fast_path_parity.py compares the two).
    graphql_fast_path: bool = True

    @field_validator("archive_allowed_types", mode="before")
    @classmethod
    def _media_types(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [t.strip().lower() for t in text.split(",") if t.strip()]
        return value

    # List settings from the environment: a JSON list or comma-separated values.
    @field_validator("cors_origins", "trusted_proxies", "outbound_allow",
                     "archive_duty_funding_sources", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [v.strip() for v in text.split(",") if v.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            ipaddress.ip_network(item, strict=False)  # raises ValueError on a bad address
        return value

    @field_validator("outbound_allow")
    @classmethod
    def _outbound_allow(cls, value: list[str]) -> list[str]:
        import ipaddress
        import re

        for item in value:
            text = item.strip()
            if re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^:\[\]]+):\d{1,5}", text):
                continue  # host:port (checked in full by the guard)
            ipaddress.ip_network(text, strict=False)  # raises ValueError on a bad CIDR
        return [item.strip() for item in value]

    @field_validator("rate_limit_client", "rate_limit_ip")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        if value.strip():
            from limits import parse_many

            parse_many(value)  # raises ValueError on a bad limit string
        return value.strip()

    @field_validator("admin_login_ip_limit", "admin_account_lock_limit")
    @classmethod
    def _one_limit(cls, value: str) -> str:
        from limits import parse

        parse(value)  # raises ValueError on a bad limit string
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
    def graphql_introspection_on(self) -> bool:
        if self.graphql_introspection is not None:
            return self.graphql_introspection
        return self.environment != "production"

    @cached_property
    def graphql_graphiql_on(self) -> bool:
        if self.graphql_graphiql is not None:
            return self.graphql_graphiql
        return self.environment != "production"

    @cached_property
    def worker_in_process_on(self) -> bool:
        if self.worker_in_process is not None:
            return self.worker_in_process
        return self.is_sqlite and self.environment in ("embedded", "development")

    @cached_property
    def archive_root(self) -> Path:
        """Where stored files (local storage) and uploads in progress live."""
        if self.archive_dir is not None:
            return self.archive_dir
        path = self.sqlite_path
        return (path.parent if path is not None else Path("var")) / "archive"

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        raw = self.database_url.split(":///", 1)[1] if ":///" in self.database_url else ""
        return Path(raw) if raw and raw != ":memory:" else None
