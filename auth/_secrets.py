"""The hub's secret key: HMAC-SHA256 of client secrets and API keys, and the AES-GCM key that
encrypts token-signing keys at rest.

The key itself is loaded by ``hub`` (:func:`hub.load_secret_key`: ``RIGHTSHUB_SECRET_KEY``, or
a generated file outside production), which also derives the audit chain's key from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub import Settings, load_secret_key, secret_key_path

_ENCRYPTION_CONTEXT = b"rightshub signing-key encryption v1"
_HASH_CONTEXT = b"rightshub secret hash v1"

__all__ = ["SecretBox", "load_secret_key", "new_secret", "secret_key_path"]


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
