"""Push to subscribers: subscriptions, outbox and deliveries (issue 5).

Registered on ``hub._tables.Base.metadata`` by the import at the end of ``hub._tables``.
"""

from __future__ import annotations

from hub._tables import Base, JSONType, UTCDateTime  # noqa: F401
