"""The hub's secret key: HMAC-SHA256 of client secrets and API keys, and the AES-GCM key that
encrypts token-signing keys at rest.

``RIGHTSHUB_SECRET_KEY`` in production (the settings refuse to load without it). Elsewhere an
unset key is generated once and kept in ``secret-key`` next to the SQLite database (``var/``
for PostgreSQL), so the CLI and the server of one installation share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub import Settings

_ENCRYPTION_CONTEXT = b"rightshub signing-key encryption v1"
_HASH_CONTEXT = b"rightshub secret hash v1"


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


class SecretBox:
    """Keyed hashing and encryption under the hub's secret key."""

    def __init__(self, key: bytes) -> None:
        self._hash_key = hmac.new(key, _HASH_CONTEXT, hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(key, _ENCRYPTION_CONTEXT, hashlib.sha256).digest())

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(load_secret_key(settings))

    def hash(self, secret: str) -> str:
        """HMAC-SHA256 of ``secret``, hex (64 characters)."""
        return hmac.new(self._hash_key, secret.encode(), hashlib.sha256).hexdigest()

    def verify(self, secret: str, expected_hash: str | None) -> bool:
        if not expected_hash:
            return False
        return hmac.compare_digest(self.hash(secret), expected_hash)

    def encrypt(self, plaintext: bytes, *, context: bytes) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext, context)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, *, context: bytes) -> bytes:
        raw = base64.urlsafe_b64decode(token.encode())
        return self._aead.decrypt(raw[:12], raw[12:], context)


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
