"""Subscription secrets (HMAC signing secrets, OAuth2 client secrets) encrypted at rest.

The same AES-GCM box as the pull connectors' secrets (``connectors._store.secret_box``: under
``connector_secret_key``, or a key derived from the hub's secret key), bound to the
subscription's id, so a sealed secret cannot be moved to another row or passed off as any
other encrypted value of the hub.
"""

from __future__ import annotations

import weakref

from auth import SecretBox
from connectors._store import secret_box
from hub import Hub

_BOXES: weakref.WeakKeyDictionary[Hub, SecretBox] = weakref.WeakKeyDictionary()


def _box(hub: Hub) -> SecretBox:
    box = _BOXES.get(hub)
    if box is None:
        box = _BOXES[hub] = secret_box(hub.settings)
    return box


def _context(subscription_id: str) -> bytes:
    return b"rightshub subscription secret v1:" + subscription_id.encode()


def seal_secret(hub: Hub, subscription_id: str, secret: str) -> str:
    return _box(hub).encrypt(secret.encode(), context=_context(subscription_id))


def open_secret(hub: Hub, subscription_id: str, sealed: str) -> str:
    return _box(hub).decrypt(sealed, context=_context(subscription_id)).decode()
