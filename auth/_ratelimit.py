"""Rate limits per client and per IP, with ``limits``' async API (``limits.aio``).

Counts live in memory for one process, or in Redis (``RIGHTSHUB_RATE_LIMIT_STORAGE=
redis://host:6379/0``) when several gateway processes must share them. A sliding window
counter: a caller may make N requests in a window of the configured length, counting this
window's requests and the previous window's weighted by how much of it still overlaps;
``Retry-After`` is the time until that count is below the limit again. ``limits``' moving
window is exact but costs O(limit) per hit (its maintainers' note), and its in-memory store
sent an expiry scan to a thread pool on nearly every hit: 0.3 ms of a REST page's 1.7 ms of
CPU (issue 20). Two counters per key cost the same whatever the limit, in memory and Redis.

If the storage fails (Redis down), requests are let through and a warning is logged: rate
limits protect capacity, they are not an access control, and an outage of the counter store
must not take the hub down with it.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from hub import RateLimited, Settings

log = logging.getLogger("rightshub.ratelimit")

KEY_PREFIX = "rightshub"


def storage_uri(setting: str) -> str:
    """``redis://`` / ``rediss://`` / ``memory://`` as users write them, in limits' async form."""
    text = setting.strip() or "memory://"
    return text if text.startswith("async+") else "async+" + text


def counter_storage(setting: str, *, key_prefix: str = KEY_PREFIX) -> Storage:
    """The counters' store named by ``rate_limit_storage``: memory, or Redis shared by every
    process (also used by the admin login throttle, auth/_login_throttle.py)."""
    uri = storage_uri(setting)
    options: dict[str, str | bool] = {}
    if uri.startswith("async+redis"):
        options = {"key_prefix": key_prefix, "wrap_exceptions": True}
    storage = storage_from_string(uri, **options)
    if not isinstance(storage, Storage):
        raise ValueError(f"{uri} is not an async rate-limit storage")
    return storage


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int = 0
    limit: str = ""


class RateLimiter:
    """The hub's limits: ``check_client`` after authentication, ``check_ip`` before routing."""

    def __init__(
        self, *, client: str, ip: str, storage: str = "memory://", key_prefix: str = KEY_PREFIX
    ) -> None:
        self.client_limits: list[RateLimitItem] = parse_many(client) if client else []
        self.ip_limits: list[RateLimitItem] = parse_many(ip) if ip else []
        self.storage: Storage = counter_storage(storage, key_prefix=key_prefix)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.storage_name = storage_uri(storage).split("://", 1)[0]

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(
            client=settings.rate_limit_client,
            ip=settings.rate_limit_ip,
            storage=settings.rate_limit_storage,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.client_limits or self.ip_limits)

    async def _hit(self, items: list[RateLimitItem], kind: str, key: str) -> Verdict:
        for item in items:
            try:
                if await self.strategy.hit(item, kind, key):
                    continue
                stats = await self.strategy.get_window_stats(item, kind, key)
            except Exception as exc:  # the counter store is down: fail open, loudly
                log.warning("rate limit storage unavailable (%s): request allowed",
                            type(exc).__name__)
                return Verdict(True)
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            return Verdict(False, retry_after, str(item))
        return Verdict(True)

    async def check_ip(self, ip: str) -> Verdict:
        return await self._hit(self.ip_limits, "ip", ip)

    async def check_client(self, client_id: str) -> Verdict:
        return await self._hit(self.client_limits, "client", client_id)

    async def enforce_client(self, client_id: str) -> None:
        """Raise :class:`RateLimited` (429, ``retry_after``) when the client is over its limit."""
        verdict = await self.check_client(client_id)
        if not verdict.allowed:
            raise too_many(verdict)

    async def reset(self) -> None:
        await self.storage.reset()


def too_many(verdict: Verdict) -> RateLimited:
    return RateLimited(
        f"Vượt giới hạn {verdict.limit} yêu cầu; hãy thử lại sau {verdict.retry_after} giây.",
        f"Rate limit of {verdict.limit} exceeded; retry in {verdict.retry_after} seconds.",
        retry_after=verdict.retry_after,
    )
