"""``rightshub ARGS`` run in the test process (Typer's ``CliRunner`` against
``gateway.cli.app``) with the environment and working directory a subprocess would get.

A subprocess pays Python's start and the app's import (1-3 s) for every command; the tests
about a command's behaviour (its output, exit code, what it writes) run it here instead. Each
command family keeps at least one real subprocess test (``rightshub`` as installed), which is
what proves the entry point works.

The command runs in its own thread: commands call ``asyncio.run``, which cannot run in the
thread of an async test's event loop. Like ``subprocess.run``, the call blocks until the
command ends. ``os.environ`` and the working directory are the process's own, so they are
replaced for the command's duration and restored afterwards (one command at a time).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

_LOCK = threading.Lock()


@dataclass
class Done:
    """What ``subprocess.run(..., capture_output=True, text=True)`` gives the tests."""

    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_cli(args: list[str] | tuple[str, ...], *, env: Mapping[str, str],
            cwd: Path | str | None = None, input: str | None = None) -> Done:
    """``rightshub *args`` with exactly ``env`` as its environment, in ``cwd``."""
    from typer.testing import CliRunner

    from gateway.cli import app

    outcome: list[Done] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            runner = CliRunner()
            with _environment(env), contextlib.chdir(cwd or os.getcwd()):
                result = runner.invoke(app, list(args), input=input, prog_name="rightshub",
                                       catch_exceptions=True)
            stderr = result.stderr
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                import traceback

                stderr += "".join(traceback.format_exception(result.exception))
            outcome.append(Done(result.exit_code, result.stdout, stderr))
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    with _LOCK:
        thread = threading.Thread(target=work, name="rightshub-cli")
        thread.start()
        thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
