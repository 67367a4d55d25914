"""Per-hub security state: the secret box, the key ring and small caches.

One :class:`Authority` per :class:`hub.Hub`, made on first use by :func:`authority`.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

from auth._keys import KeyRing
from auth._secrets import SecretBox
from hub import Hub
from hub.tables import Client

# Client status is cached this long; deactivations made through auth/ invalidate it at once
# in this process, other processes notice within this time. Admin tokens are checked against
# their server-side session instead, uncached (auth/_sessions.py).
STATUS_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class ClientStatus:
    active: bool
    agency: str
    scopes: frozenset[str]


class Authority:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.settings = hub.settings
        self.box = SecretBox.from_settings(hub.settings)
        self.keys = KeyRing(hub.db, hub.settings, self.box)
        self._clients: dict[str, tuple[float, ClientStatus | None]] = {}
        # API key id -> monotonic time of the last ``last_used_at`` write.
        self.key_use_written: dict[str, float] = {}
        self.extras: dict[str, Any] = {}  # e.g. the OAuth2 server of this hub
        # Access tokens whose signature and claims were checked: token -> (kid, alg, claims).
        # Bounded; an entry is used only until the token's own expiry (auth._tokens).
        self.verified_tokens: dict[str, tuple[str, str, dict[str, Any]]] = {}

    async def client_status(self, client_id: str) -> ClientStatus | None:
        cached = self._clients.get(client_id)
        if cached is not None and time.monotonic() - cached[0] < STATUS_CACHE_SECONDS:
            return cached[1]
        async with self.hub.db.session() as session:
            row = await session.get(Client, client_id)
        status = (
            None if row is None
            else ClientStatus(row.active, row.agency, frozenset(row.scopes or ()))
        )
        if len(self._clients) > 10_000:
            self._clients.clear()
        self._clients[client_id] = (time.monotonic(), status)
        return status

    def forget_client(self, client_id: str) -> None:
        self._clients.pop(client_id, None)


_AUTHORITIES: weakref.WeakKeyDictionary[Hub, Authority] = weakref.WeakKeyDictionary()


def authority(hub: Hub) -> Authority:
    found = _AUTHORITIES.get(hub)
    if found is None:
        found = _AUTHORITIES[hub] = Authority(hub)
    return found
