"""``rightshub backup`` and ``rightshub restore``: one consistent copy of the database and
the archive's objects, and restoring it into an empty installation (hub/_backup.py).

Exit codes: 0 done; 1 done but something needs attention (objects missing from a backup, the
audit or archive check failing after a restore, a damaged backup under ``backup verify``);
2 refused, nothing changed (non-empty target, damaged backup, missing tool, bad settings).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.cli._settings import load_settings
from hub import (
    BackupResult,
    Hub,
    HubError,
    RestoreResult,
    Settings,
    check_backup,
    create_backup,
    restore_backup,
    restore_secret_key,
)

console = Console(soft_wrap=True)
err_console = Console(soft_wrap=True, stderr=True)
backup_app = typer.Typer(help="Back up the database and the archive's files.",
                         invoke_without_command=True)


def register(app: typer.Typer) -> None:
    app.add_typer(backup_app, name="backup")
    app.command("restore")(restore)



def _refused(exc: HubError) -> typer.Exit:
    err_console.print(f"[red]Từ chối / refused:[/red] {exc.detail_vi}", markup=True)
    err_console.print(exc.detail_en, markup=False, highlight=False)
    return typer.Exit(2)


async def _backup(settings: Settings, out: Path) -> BackupResult:
    hub = Hub(settings)
    try:
        return await create_backup(hub, out)
    finally:
        await hub.close()


@backup_app.callback()
def backup(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", file_okay=False,
        help="New (or empty) directory to write the backup to")] = None,
) -> None:
    """Write one backup: a database snapshot (SQLite online backup or pg_dump -Fc), every
    stored file, and manifest.json with their SHA-256 sums. Safe while the server runs."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        raise typer.BadParameter("give the backup directory", param_hint="--out")
    try:
        result = asyncio.run(_backup(load_settings(console), out))
    except HubError as exc:
        raise _refused(exc) from None
    database = result.manifest["database"]
    console.print(f"Đã sao lưu / backed up to {result.directory}: cơ sở dữ liệu / database "
                  f"{database['kind']} ({database['alembic_revision']}, {database['size']} "
                  f"byte), {result.objects} tệp / files "
                  f"({result.manifest['objects']['bytes']} byte).")
    if result.missing:
        console.print(f"[red]{len(result.missing)} tệp mất hoặc hỏng trong kho, không sao lưu "
                      "được / files missing or changed in storage, not backed up:[/red]")
        for key in result.missing:
            console.print(f"  {key}")
        console.print("Chạy / run `rightshub archive verify`.")
        raise typer.Exit(1)


@backup_app.command("verify")
def backup_verify(
    source: Annotated[Path, typer.Argument(exists=True, file_okay=False,
                                           help="A backup directory")],
) -> None:
    """Check a backup's seal and every part's SHA-256 without touching any database."""
    settings = load_settings(console)
    try:
        key = restore_secret_key(settings)
        check = check_backup(source, key)
    except HubError as exc:
        raise _refused(exc) from None
    if check.ok:
        console.print(f"[green]OK[/green] {check.checked} phần khớp tổng kiểm / parts match "
                      f"their checksums; niêm phong / seal OK.")
        return
    for problem in check.problems:
        console.print(f"[red]✗[/red] {problem}", highlight=False)
    console.print(f"[red]FAILED[/red] {len(check.problems)} vấn đề / problems.")
    raise typer.Exit(1)


def restore(
    source: Annotated[Path, typer.Argument(exists=True, file_okay=False,
                                           help="A backup directory")],
) -> None:
    """Restore a backup into the EMPTY database and storage the settings name (refused
    otherwise, exit code 2), then verify the audit chain and the archive."""
    try:
        result: RestoreResult = asyncio.run(restore_backup(load_settings(console), source))
    except HubError as exc:
        raise _refused(exc) from None
    console.print(f"Đã khôi phục / restored: cơ sở dữ liệu / database "
                  f"{result.manifest['database']['kind']} "
                  f"({result.manifest['database']['alembic_revision']}), {result.objects} "
                  f"tệp / files.")
    mark = "[green]OK[/green]" if result.audit.ok else "[red]FAILED[/red]"
    console.print(f"audit verify: {mark} {result.audit.summary()}")
    if result.archive.ok:
        console.print(f"archive verify: [green]OK[/green] kho lưu trữ nguyên vẹn / archive "
                      f"intact: {result.archive.checked} tệp/files đã kiểm tra/checked.")
    else:
        console.print(f"archive verify: [red]FAILED[/red] {len(result.archive.problems)} / "
                      f"{result.archive.checked} tệp có vấn đề / files with problems:")
        for problem in result.archive.problems:
            console.print(f"  {problem.sha256} {problem.problem}")
    if not result.ok:
        raise typer.Exit(1)
