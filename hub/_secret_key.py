"""The hub's secret key, and keys derived from it.

``RIGHTSHUB_SECRET_KEY`` in production (the settings refuse to load without it). Elsewhere an
unset key is generated once and kept in ``secret-key`` next to the SQLite database (``var/``
for PostgreSQL), so the CLI and the server of one installation share it.

The hub derives its own keys from it (the audit chain's HMAC key, :func:`derive_key`);
``auth`` builds its secret box on the same key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub._settings import Settings


def secret_key_path(settings: Settings) -> Path:
    path = settings.sqlite_path
    return (path.parent if path is not None else Path("var")) / "secret-key"


def load_secret_key(settings: Settings) -> bytes:
    """The secret key's bytes: the setting, or the generated file outside production."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    if settings.environment == "production":  # the settings validator stops this earlier
        raise RuntimeError("RIGHTSHUB_SECRET_KEY is required in production")
    path = secret_key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once agree on whichever file was written first.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def previous_secret_keys(settings: Settings) -> tuple[bytes, ...]:
    """The key(s) being replaced during a rotation (``secret_key_previous``): accepted by every
    verifier and decrypter, never used to make anything new."""
    if settings.secret_key_previous is None:
        return ()
    return (settings.secret_key_previous.get_secret_value().encode(),)


def derive_key(secret_key: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 of the secret key for one purpose (``info``): never the raw key."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(
        secret_key
    )


AUDIT_KEY_INFO = b"rightshub audit chain v2"


def audit_key(settings: Settings) -> bytes:
    """The audit chain's HMAC key: HKDF-SHA256 of the hub's secret key (never the raw key)."""
    return derive_key(load_secret_key(settings), AUDIT_KEY_INFO)


def previous_audit_keys(settings: Settings) -> tuple[bytes, ...]:
    """The audit keys of :func:`previous_secret_keys`: entries hashed before a rotation."""
    return tuple(derive_key(key, AUDIT_KEY_INFO) for key in previous_secret_keys(settings))
