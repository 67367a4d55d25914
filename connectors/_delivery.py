"""Push to subscribers: deliveries of change-feed events (issue 5).

``deliver_pending`` is the worker's entry point for deliveries; it is filled in by the
subscriptions work.
"""

from __future__ import annotations

from hub import Hub


async def deliver_pending(hub: Hub, *, limit: int = 100) -> int:
    """Deliver up to ``limit`` due events; return how many were attempted."""
    return 0
