"""``rightshub archive``: integrity of the product archive and its housekeeping."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli._settings import load_settings
from hub import Hub, Settings, VerifyReport, clean_abandoned_uploads, collect_orphan_files
from hub import verify_archive as verify_files

console = Console(soft_wrap=True)
archive_app = typer.Typer(help="The product archive (stored files).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(archive_app, name="archive")



async def _verify(settings: Settings) -> VerifyReport:
    hub = Hub(settings)
    try:
        return await verify_files(hub)
    finally:
        await hub.close()


@archive_app.command("verify")
def verify() -> None:
    """Re-hash every stored file and report those missing or changed (exit code 1)."""
    report = asyncio.run(_verify(load_settings(console)))
    if report.ok:
        console.print(f"Kho lưu trữ nguyên vẹn / archive intact: {report.checked} tệp/files "
                      "đã kiểm tra/checked.")
        return
    table = Table("SHA-256", "vấn đề / problem", "byte", "bản ghi / records")
    for problem in report.problems:
        label = {"missing": "mất / missing", "changed": "bị thay đổi / changed"}[problem.problem]
        table.add_row(problem.sha256, label, str(problem.size), ", ".join(problem.records))
    console.print(table)
    console.print(f"[red]{len(report.problems)} / {report.checked} tệp có vấn đề / files "
                  "with problems.[/red]")
    raise typer.Exit(1)


async def _clean(settings: Settings, grace_hours: float) -> tuple[int, int]:
    hub = Hub(settings)
    try:
        uploads = await clean_abandoned_uploads(hub)
        orphans = await collect_orphan_files(hub, grace=timedelta(hours=grace_hours))
        return uploads, orphans
    finally:
        await hub.close()


@archive_app.command("clean")
def clean(
    grace_hours: Annotated[float, typer.Option(
        help="Keep unused files this long after their last use")] = 24.0,
) -> None:
    """Drop abandoned uploads and remove files no record uses any more."""
    uploads, orphans = asyncio.run(_clean(load_settings(console), grace_hours))
    console.print(f"Đã xoá / removed: {uploads} phiên tải lên bỏ dở / abandoned uploads, "
                  f"{orphans} tệp không còn dùng / unused files.")
