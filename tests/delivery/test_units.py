"""Pure helpers of deliveries: the signature, the back-off, Retry-After, a withdrawal."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from connectors import backoff_seconds, sign_delivery, verify_delivery
from connectors._delivery import retry_after_seconds
from hub import withdrawal_of

SECRET = "whs_" + "k" * 40


def test_signature_round_trip_and_tampering() -> None:
    body = '{"events":[{"title":"Quyền trẻ em"}]}'.encode()
    header = sign_delivery(SECRET, body)
    assert header.startswith("t=") and ",v1=" in header
    assert verify_delivery(SECRET, header, body)
    assert not verify_delivery(SECRET, header, body + b" ")
    assert not verify_delivery("whs_" + "x" * 40, header, body)
    assert not verify_delivery(SECRET, "v1=" + header.split("v1=")[1], body)  # no timestamp
    assert not verify_delivery(SECRET, "", body)
    old = sign_delivery(SECRET, body, timestamp=int(time.time()) - 3600)
    assert not verify_delivery(SECRET, old, body)  # a replay outside the tolerance
    # Rotation: a header may carry several v1 values; one matching is enough.
    other = sign_delivery("whs_" + "o" * 40, body).split(",")[1]
    assert verify_delivery(SECRET, f"{header},{other}", body)


def test_known_vector() -> None:
    # HMAC-SHA256("secret", "1700000000.{}"), as a subscriber in any language computes it.
    assert sign_delivery("secret", b"{}", timestamp=1_700_000_000) == (
        "t=1700000000,v1=" + __import__("hmac").new(
            b"secret", b"1700000000.{}", "sha256").hexdigest()
    )


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0, max_value=1))
def test_backoff_grows_is_capped_and_jittered(attempts: int, r: float) -> None:
    delay = backoff_seconds(attempts, base=1.0, cap=600.0, rand=r)
    full = min(600.0, 2.0 ** (attempts - 1))
    assert full / 2 <= delay <= full


def test_backoff_doubles() -> None:
    delays = [backoff_seconds(a, base=1.0, cap=1e9, rand=1.0) for a in range(1, 6)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_retry_after() -> None:
    assert retry_after_seconds("120", cap=60) == 60
    assert retry_after_seconds("5", cap=60) == 5
    assert retry_after_seconds(None, cap=60) is None
    assert retry_after_seconds("soon", cap=60) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", cap=60) == 0.0


def test_withdrawal_leaves_nothing_of_the_record() -> None:
    # The outbox withdraws changes that carry their version's files: those go too.
    record = {"id": "r1", "type": "products", "owner_agency": "G16", "version": 2,
              "content_hash": "abc", "data": {"title": "Sổ tay"}, "provenance": {"by": "x"},
              "files": [{"sha256": "f" * 64, "name": "so-tay.pdf"}]}
    change = {"seq": 7, "op": "upsert", "record": record}
    withdrawn = withdrawal_of(change)
    assert withdrawn == {"seq": 7, "op": "withdraw", "record": {
        "id": "r1", "type": "products", "owner_agency": "G16", "version": 2,
        "content_hash": "", "data": {}, "provenance": {}, "files": []}}
    assert change == {"seq": 7, "op": "upsert", "record": record}  # the original untouched
    assert record["files"] and record["data"]
