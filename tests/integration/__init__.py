"""Integration tests: the real CLI and the real server as subprocesses, migrations, and the
change feed under concurrent writers (SQLite and PostgreSQL).

Helpers shared by these tests live here: a free loopback port, a clean environment for child
processes, and :func:`running_server`, which starts ``rightshub serve`` in its own process
group and always stops it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
RIGHTSHUB = str(Path(sys.executable).with_name("rightshub"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(**settings: str) -> dict[str, str]:
    """The current environment without any ``RIGHTSHUB_*`` setting, plus ``settings``
    (``database_url="..."`` becomes ``RIGHTSHUB_DATABASE_URL``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSHUB_")}
    env.update(PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1", COLUMNS="400", NO_COLOR="1")
    # Loopback test systems, as make_settings allows; outbound_allow="" says none.
    settings = {"outbound_allow": "127.0.0.0/8,::1/128", **settings}
    env.update({f"RIGHTSHUB_{k.upper()}": v for k, v in settings.items()})
    return env


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    stdout_path: Path
    stderr_path: Path

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


def _wait(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"rightshub serve exited with {server.process.returncode}\n"
                f"stdout:\n{server.stdout()}\nstderr:\n{server.stderr()}"
            )
        try:
            response = httpx.get(server.base_url + path, timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise AssertionError(
        f"{path} not ready after {timeout} s (last: {last})\nstderr:\n{server.stderr()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's own process group (uvicorn and its workers), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def running_server(
    args: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    port: int,
    wait_for: str = "/readyz",
    timeout: float = 60,
) -> Iterator[Server]:
    """``rightshub serve ARGS`` with ``cwd`` as working directory, stopped on exit; waits
    until ``wait_for`` answers 200."""
    stdout_path, stderr_path = cwd / "server.stdout", cwd / "server.stderr"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [RIGHTSHUB, "serve", *args], cwd=cwd, env=env, stdout=out, stderr=err,
            start_new_session=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}", stdout_path, stderr_path)
    try:
        _wait(server, wait_for, timeout)
        yield server
    finally:
        _stop(process)
