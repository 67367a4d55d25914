"""Duplicate-key check on the ingest path (hub._json_strict): one 1,000-record body of
bench/ingest.py, the variants timed interleaved (fair on a shared machine), 20 calls a sample,
25 samples each. Run: ``.venv/bin/python -m bench.json_keys`` (not part of ``bench all``)."""
import json
import statistics
import timeit

import orjson

from bench.ingest import batch_bodies
from hub import _json_strict
from hub._ingest import decode_json

body = batch_bodies(1000)[0]
ascii_body = json.dumps(orjson.loads(body)).encode()


def hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise ValueError
    return d


def _loads_then_scan(text: bytes) -> object:
    parsed = orjson.loads(text)
    _json_strict.check_unique_keys(text)
    return parsed


cases = {
    "orjson.loads (before)": lambda: orjson.loads(body),
    "json.loads": lambda: json.loads(body),
    "json.loads + object_pairs_hook": lambda: json.loads(body, object_pairs_hook=hook),
    "orjson + C-scanner hook scan": lambda: _loads_then_scan(body),
    "decode_json (after)": lambda: decode_json(body),
    "orjson.loads, ensure_ascii body": lambda: orjson.loads(ascii_body),
    "decode_json, ensure_ascii body": lambda: decode_json(ascii_body),
}
samples: dict[str, list[float]] = {k: [] for k in cases}
for _ in range(25):
    for name, fn in cases.items():
        samples[name].append(timeit.timeit(fn, number=20) / 20 * 1000)
print(f"body {len(body):,} bytes (1,000 records); ensure_ascii {len(ascii_body):,} bytes")
for name, s in samples.items():
    print(f"{name:34s} min {min(s):5.2f} ms  median {statistics.median(s):5.2f} ms")
