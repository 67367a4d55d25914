"""py-spy on a server process under load: a recording (collapsed stacks or a flame graph) and
the shares of its samples, per function and per part of the stack.

An asyncio server's stacks are cut at every ``await`` (py-spy sees the coroutine resumed, not
the one that awaited it), so inclusive shares of the request's outer frames undercount; the
*self* shares (where the interpreter was) add up to the whole and are what the tables use.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from bench import _common as c


def record(pid: int, out: Path, seconds: int, *, fmt: str = "raw",
           rate: int = 100) -> subprocess.Popen[bytes]:
    """Start py-spy on ``pid`` for at most ``seconds``; SIGINT it to stop early. ``fmt``:
    ``raw`` (collapsed stacks, for :func:`summarise`) or ``flamegraph`` (an SVG)."""
    return subprocess.Popen(
        [str(c.BIN / "py-spy"), "record", "--pid", str(pid), "--rate", str(rate),
         "--duration", str(seconds), "--format", fmt, "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


INTERESTING = ("hub/", "gateway/", "schemas/", "sqlalchemy/", "pydantic/", "asyncpg/",
               "aiosqlite/", "orjson", "starlette/", "fastapi/", "json/")

# Parts of a request, by where a sample's innermost frame is (first match wins). py-spy names
# files by their path below sys.path ("hub/_db.py", "asyncio/runners.py"); the event loop's
# own frame (Runner.run) at the top of a stack is its wait for sockets (epoll), idle time.
PARTS = (
    ("HTTP server (uvicorn, httptools)", ("uvicorn/", "httptools")),
    ("authentication (joserfc, auth/)", ("joserfc/", "cryptography/", "(auth/")),
    ("rate limits (limits)", ("limits/",)),
    ("FastAPI routing and parameters", ("fastapi/",)),
    ("Starlette (requests, responses)", ("starlette/",)),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("asyncpg (protocol, decoding)", ("asyncpg/",)),
    ("JSON (orjson: jsonb values, responses)", ("_json.py", "_jsonb_", "orjson")),
    ("hub: queries, envelopes (hub/)", ("(hub/",)),
    ("gateway: routes, middleware (gateway/)", ("(gateway/",)),
    ("logging, metrics (structlog, prometheus)", ("structlog/", "logging/", "prometheus_client/")),
    ("asyncio event loop", ("asyncio/", "selectors.py")),
)


def _frame(raw: str) -> str:
    """``func (/long/path/pkg/mod.py:123)`` -> ``func (pkg/mod.py)``."""
    name, _, where = raw.partition(" (")
    path = where.rsplit(":", 1)[0]
    return f"{name} ({'/'.join(path.split('/')[-2:])})" if where else raw


IDLE = "idle: the event loop waiting for sockets"


def _part(raw: str) -> str:
    if raw.startswith("Runner.run (asyncio/runners.py"):
        return IDLE
    for part, marks in PARTS:
        if any(mark in raw for mark in marks):
            return part
    return "other"


def summarise(path: Path, top: int = 20) -> dict[str, Any]:
    """Shares of py-spy samples (collapsed stacks): inclusive per function for our code and
    the libraries on the path, self per function (where the interpreter actually was), and
    self per part of the request (:data:`PARTS`)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        raw_frames = stack.split(";")
        frames = [_frame(f) for f in raw_frames]
        total += count
        for frame in set(frames):
            if any(mark in frame for mark in INTERESTING):
                inclusive[frame] += count
        own[frames[-1]] += count
        parts[_part(raw_frames[-1])] += count

    def share(n: int) -> float:
        return round(100 * n / total, 1) if total else 0.0

    spine = [k for k, v in inclusive.items() if v > 0.7 * total]  # the ASGI stack itself
    return {
        "samples": total,
        "parts_self_pct": {k: share(v) for k, v in parts.most_common()},
        "inclusive_pct": {k: share(v) for k, v in inclusive.most_common(top + len(spine))
                          if k not in spine},
        "self_pct": {k: share(v) for k, v in own.most_common(top)},
    }
