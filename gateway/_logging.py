"""structlog JSON logs with the request id on every line, uvicorn's own lines included."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


# Keys whose values are secrets wherever they appear in an event (any depth, any case,
# "-" or "_"); values are replaced, keys kept so the line still says what was there.
SECRET_KEYS = frozenset({
    "authorization", "proxy_authorization", "cookie", "set_cookie", "token", "access_token",
    "refresh_token", "id_token", "client_secret", "secret", "secret_key", "password",
    "passwd", "api_key", "apikey", "x_api_key", "client_assertion", "assertion",
    "private_key", "private_jwk",
})
REDACTED = "[REDACTED]"
_SECRET_VALUE = re.compile(
    r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"  # a JWT (JWS compact)
    r"|\brhk_[A-Za-z0-9_-]{8,}"  # an API key
)
# Credentials inside free text: "Authorization: Bearer x", "client_secret=x", '"password": "x"'.
_SECRET_IN_TEXT = re.compile(
    r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"
    r"|(?i:\b(?:access_token|refresh_token|id_token|client_secret|client_assertion|password|"
    r"api_key|x-api-key|secret|token)\b[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;}]+"
)


def _scrub_text(text: str) -> str:
    text = _SECRET_VALUE.sub(REDACTED, text)

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if match.group(1):  # an auth scheme: keep its name
            return f"{match.group(1)} {REDACTED}"
        value_start = len(whole) - len(whole.lstrip())
        for i in range(len(whole) - 1, -1, -1):
            if whole[i] in "=:\"' ":
                value_start = i + 1
                break
        return whole[:value_start] + REDACTED

    return _SECRET_IN_TEXT.sub(replace, text)


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SECRET_KEYS


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return value
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, bytes):
        return _scrub_text(value.decode("utf-8", "replace"))
    if isinstance(value, dict):
        return {
            k: REDACTED if _is_secret_key(k) and v not in (None, "") else _scrub(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        # Header lists: [("authorization", "Bearer x"), ...]
        if len(value) == 2 and _is_secret_key(value[0]) and not isinstance(value, list):
            return (value[0], REDACTED)
        return type(value)(_scrub(v, depth + 1) for v in value)
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: Any) -> Any:
    """structlog processor: no secret, token or key reaches a log line. Runs last before the
    renderer, on structlog and stdlib (uvicorn) lines alike, after tracebacks are formatted."""
    return _scrub(event_dict)


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        # Below the level, an event stops at the first processor (the access line of every
        # request, at "warning": ~2 % of a GraphQL page's CPU went to time-stamping it).
        processors=[structlog.stdlib.filter_by_level, *_SHARED,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Python warnings become log lines too, so stderr stays JSON.
    logging.captureWarnings(True)
    root.setLevel(level.upper())
    # uvicorn's loggers go through the same handler, so they carry the request id too;
    # its access log is replaced by ours (which knows the route and the principal).
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
