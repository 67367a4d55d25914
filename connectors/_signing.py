"""The signature on every push delivery signed by HMAC (docs/exchange-api.md, "Push").

Header ``RightsHub-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
HMAC-SHA256(secret, ``"<t>." + body``) over the exact bytes of the request body. The timestamp
inside the signed text lets a subscriber refuse replays older than a tolerance. The hub sends
one ``v1`` today; subscribers accept the request when any ``v1`` matches, which leaves room
for signing with an old and a new secret at once.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "RightsHub-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def sign_delivery(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The ``RightsHub-Signature`` header value for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_digest(secret, t, body)}"


def verify_delivery(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds.

    For subscribers written in Python; compares in constant time."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in signatures)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
