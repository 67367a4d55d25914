"""The settings every CLI command starts from, and the run of a command's work on a hub:
invalid settings stop the command with a readable message (Vietnamese and English) and exit
code 2, a refusal by the hub with its message and exit code 1, never a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from hub import Hub, HubError, Settings

T = TypeVar("T")


def load_settings(console: Console) -> Settings:
    """``Settings()`` from the environment; on an invalid value, the reason on ``console``."""
    try:
        return Settings()
    except Exception as exc:
        console.print(f"[red]Cấu hình không hợp lệ / invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None


def run_on_hub(settings: Settings, work: Callable[[Hub], Awaitable[T]], console: Console) -> T:
    """``work`` on a hub opened for it and closed after; a ``HubError`` is printed on
    ``console`` (both languages) and exits 1."""

    async def go() -> T:
        hub = Hub(settings)
        try:
            return await work(hub)
        finally:
            await hub.close()

    try:
        return asyncio.run(go())
    except HubError as exc:
        console.print(f"[red]{exc.detail_vi}[/red]\n{exc.detail_en}")
        raise typer.Exit(1) from None
