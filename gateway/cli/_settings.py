"""The settings every CLI command starts from: invalid settings stop the command with a
readable message (Vietnamese and English) and exit code 2, never a traceback."""

from __future__ import annotations

import typer
from rich.console import Console

from hub import Settings


def load_settings(console: Console) -> Settings:
    """``Settings()`` from the environment; on an invalid value, the reason on ``console``."""
    try:
        return Settings()
    except Exception as exc:
        console.print(f"[red]Cấu hình không hợp lệ / invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None
