"""Throttling of admin password logins, so guessing is slow and a stranger cannot lock the
real admin out from another address.

Three counts, kept in the rate limits' store (``limits``: memory for one process, Redis shared
by every process when ``RIGHTSHUB_RATE_LIMIT_STORAGE`` names it):

- per (username, client address): the first ``admin_login_free_failures`` failures cost
  nothing; each further one makes that pair wait 1, 2, 4... seconds (times
  ``admin_login_first_delay_seconds``, at most
  ``admin_login_max_delay_seconds``) before its next attempt. The wait is a 429 with
  ``Retry-After``, never a sleep of the server. A success clears the pair.
- per client address, across usernames: ``admin_login_ip_limit`` failures in a moving
  window, then every login from that address waits for the window.
- per username, from every address: ``admin_account_lock_limit`` failures in a moving window
  lock the account for ``admin_lockout_seconds``; the lock is audited once, when it starts.
  One address cannot get there alone (its own delays and limit come first).

Unknown usernames count the same way as known ones, so the answers tell nothing about which
accounts exist. If the store fails (Redis down) logins are let through with a warning, as the
rate limits do: each attempt still costs an argon2 verification, and an outage of the counter
store must not lock every admin out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import structlog
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter

from auth._ratelimit import counter_storage
from hub import Settings

log = structlog.get_logger("rightshub.auth")

# A (username, address) pair's failures are remembered this long after its first one.
PAIR_MEMORY_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an attempt is refused before its password is checked: ``"delay"`` (this username
    from this address), ``"address"`` (this address) or ``"account"`` (the account lock)."""

    reason: str
    retry_after: int


def _seconds_until(moment: float) -> int:
    return max(1, math.ceil(moment - time.time()))


class LoginThrottle:
    def __init__(self, settings: Settings) -> None:
        self.free_failures = settings.admin_login_free_failures
        self.first_delay = settings.admin_login_first_delay_seconds
        self.max_delay = settings.admin_login_max_delay_seconds
        self.ip_limit = parse(settings.admin_login_ip_limit)
        self.account_limit = parse(settings.admin_account_lock_limit)
        self.lock_seconds = settings.admin_lockout_seconds
        self.storage = counter_storage(settings.rate_limit_storage)
        self.windows = MovingWindowRateLimiter(self.storage)

    @staticmethod
    def _user(username: str) -> str:
        return username[:200].lower()

    async def _left(self, key: str) -> int:
        """Seconds until the block ``key`` ends, 0 when there is none."""
        if await self.storage.get(key) <= 0:
            return 0
        return _seconds_until(await self.storage.get_expiry(key))

    async def _block(self, key: str, seconds: int) -> None:
        await self.storage.clear(key)
        await self.storage.incr(key, seconds)

    async def refusal(self, username: str, address: str) -> Refusal | None:
        """Why an attempt of ``username`` from ``address`` must wait, or None."""
        user = self._user(username)
        try:
            left = await self._left(f"login/lock/{user}")
            if left:
                return Refusal("account", left)
            if not await self.windows.test(self.ip_limit, "login-ip", address):
                stats = await self.windows.get_window_stats(self.ip_limit, "login-ip", address)
                return Refusal("address", _seconds_until(stats.reset_time))
            left = await self._left(f"login/delay/{user}/{address}")
            if left:
                return Refusal("delay", left)
        except Exception as exc:  # the counter store is down: fail open, loudly
            log.warning("login_throttle_unavailable", error_type=type(exc).__name__)
        return None

    async def failed(self, username: str, address: str) -> bool:
        """Count a failed attempt; True when it started an account lock (to be audited)."""
        user = self._user(username)
        try:
            count = await self.storage.incr(f"login/fails/{user}/{address}",
                                            PAIR_MEMORY_SECONDS)
            if count > self.free_failures:
                doubling = 2 ** min(count - self.free_failures - 1, 30)
                delay = min(self.max_delay, self.first_delay * doubling)
                await self._block(f"login/delay/{user}/{address}", delay)
            await self.windows.hit(self.ip_limit, "login-ip", address)
            await self.windows.hit(self.account_limit, "login-user", user)
            if await self.windows.test(self.account_limit, "login-user", user):
                return False
            # The limit is reached: lock, once (a racing process sees a count above 1).
            return await self.storage.incr(f"login/lock/{user}", self.lock_seconds) == 1
        except Exception as exc:
            log.warning("login_throttle_unavailable", error_type=type(exc).__name__)
            return False

    async def succeeded(self, username: str, address: str) -> None:
        user = self._user(username)
        try:
            await self.storage.clear(f"login/fails/{user}/{address}")
            await self.storage.clear(f"login/delay/{user}/{address}")
        except Exception as exc:
            log.warning("login_throttle_unavailable", error_type=type(exc).__name__)

    async def unlock(self, username: str) -> None:
        """A new password was set by an admin: the account lock and its count end."""
        user = self._user(username)
        try:
            await self.storage.clear(f"login/lock/{user}")
            await self.windows.clear(self.account_limit, "login-user", user)
        except Exception as exc:
            log.warning("login_throttle_unavailable", error_type=type(exc).__name__)
