"""Record ids are UUID version 7 (RFC 9562): time first, so ids made later sort later and
each batch's new keys land together at the right edge of the indexes keyed by them."""

from __future__ import annotations

import time
import uuid

from hub.tables import new_record_id


def test_record_ids_are_uuid_version_7() -> None:
    before = time.time_ns() // 1_000_000
    text = new_record_id()
    after = time.time_ns() // 1_000_000
    made = uuid.UUID(text)
    assert made.version == 7 and made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after  # the 48-bit Unix time in milliseconds
    assert text == str(made)  # the 36-character form records.id holds


def test_later_ids_sort_later_and_never_repeat() -> None:
    first = [new_record_id() for _ in range(2000)]
    time.sleep(0.002)
    later = [new_record_id() for _ in range(2000)]
    assert max(first) < min(later)
    assert len(set(first + later)) == 4000
