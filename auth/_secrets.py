"""The hub's secret key: HMAC-SHA256 of client secrets and API keys, and the AES-GCM key that
encrypts token-signing keys at rest.

The key itself is loaded by ``hub`` (:func:`hub.load_secret_key`: ``RIGHTSHUB_SECRET_KEY``, or
a generated file outside production), which also derives the audit chain's key from it.

During a key change (``secret_key_previous``) the box also holds the previous key: hashes and
sealed values made under it still verify and open, so nothing stops while ``rightshub
secret-key rotate`` re-seals the stored values and clients' hashes are upgraded on use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub import Settings, load_secret_key, previous_secret_keys, secret_key_path

_ENCRYPTION_CONTEXT = b"rightshub signing-key encryption v1"
_HASH_CONTEXT = b"rightshub secret hash v1"
_KEY_ID_CONTEXT = b"rightshub key id v1"

__all__ = ["SecretBox", "load_secret_key", "new_secret", "secret_key_path"]


class _Keys:
    """One key's hash key, AEAD and public id (an HMAC of it: tells which key made a hash)."""

    def __init__(self, key: bytes) -> None:
        self.hash_key = hmac.new(key, _HASH_CONTEXT, hashlib.sha256).digest()
        self.aead = AESGCM(hmac.new(key, _ENCRYPTION_CONTEXT, hashlib.sha256).digest())
        self.key_id = hmac.new(key, _KEY_ID_CONTEXT, hashlib.sha256).hexdigest()[:16]

    def hash(self, secret: str) -> str:
        return hmac.new(self.hash_key, secret.encode(), hashlib.sha256).hexdigest()


class SecretBox:
    """Keyed hashing and encryption under the hub's secret key (and, while a rotation is in
    progress, the previous ones: accepted, never used to make anything new)."""

    def __init__(self, key: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = _Keys(key)
        self._previous = tuple(_Keys(k) for k in previous if k != key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(load_secret_key(settings), previous_secret_keys(settings))

    @property
    def key_id(self) -> str:
        """The current key's id (16 hex), stored next to the hashes it made."""
        return self._current.key_id

    @property
    def has_previous(self) -> bool:
        return bool(self._previous)

    def hash(self, secret: str) -> str:
        """HMAC-SHA256 of ``secret`` under the current key, hex (64 characters)."""
        return self._current.hash(secret)

    def match(self, secret: str, expected_hash: str | None) -> str | None:
        """The id of the key whose HMAC of ``secret`` is ``expected_hash``, or None."""
        if not expected_hash:
            return None
        for keys in (self._current, *self._previous):
            if hmac.compare_digest(keys.hash(secret), expected_hash):
                return keys.key_id
        return None

    def verify(self, secret: str, expected_hash: str | None) -> bool:
        return self.match(secret, expected_hash) is not None

    def encrypt(self, plaintext: bytes, *, context: bytes) -> str:
        nonce = os.urandom(12)
        sealed = self._current.aead.encrypt(nonce, plaintext, context)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def _open(self, token: str, context: bytes) -> tuple[bytes, bool]:
        raw = base64.urlsafe_b64decode(token.encode())
        for keys in (self._current, *self._previous):
            try:
                return keys.aead.decrypt(raw[:12], raw[12:], context), keys is self._current
            except InvalidTag:
                continue
        raise InvalidTag()

    def decrypt(self, token: str, *, context: bytes) -> bytes:
        """Open ``token`` under the current key or a previous one (:class:`InvalidTag` else)."""
        return self._open(token, context)[0]

    def reseal(self, token: str, *, context: bytes) -> str | None:
        """``token`` sealed again under the current key, or None when it already is."""
        plaintext, current = self._open(token, context)
        return None if current else self.encrypt(plaintext, context=context)


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
