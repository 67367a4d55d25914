"""``rightshub report``: the programme reports (Decision 1079/QĐ-TTg) written to a file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway._reports import check_format, render
from gateway.cli._settings import load_settings
from hub import Hub, HubError, ReportData, Settings, annual_report, review_report

console = Console(soft_wrap=True)
err_console = Console(soft_wrap=True, stderr=True)
report_app = typer.Typer(help="Programme reports (Decision 1079/QĐ-TTg).",
                         no_args_is_help=True)
FormatOption = Annotated[str, typer.Option("--format", "-f", help="docx, pdf or xlsx")]
OutOption = Annotated[Path, typer.Option("-o", "--output", help="The file to write")]


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")



async def _gather(settings: Settings, agency: str | None, year_from: int,
                  year_to: int) -> ReportData:
    hub = Hub(settings)
    try:
        if agency is not None:
            return await annual_report(hub, agency=agency, year=year_from)
        return await review_report(hub, year_from=year_from, year_to=year_to)
    finally:
        await hub.close()


def _write(fmt_text: str, output: Path, agency: str | None, year_from: int,
           year_to: int) -> None:
    try:
        fmt = check_format(fmt_text)
        data = asyncio.run(_gather(load_settings(err_console), agency, year_from, year_to))
    except HubError as exc:
        err_console.print(f"[red]Từ chối / refused:[/red] {exc.detail_vi}\n{exc.detail_en}")
        raise typer.Exit(2) from None
    rendered = render(data, fmt)
    output.write_bytes(rendered.body)
    console.print(f"Đã ghi / written: {output} ({len(rendered.body)} byte, "
                  f"{len(data.appendix)} hồ sơ/records)")


@report_app.command("annual")
def annual(
    agency: Annotated[str, typer.Option(help="Agency code (with those it replaced)")],
    year: Annotated[int, typer.Option(help="Year of the report")],
    output: OutOption,
    fmt: FormatOption = "docx",
) -> None:
    """An agency's annual report."""
    _write(fmt, output, agency, year, year)


@report_app.command("review")
def review(
    year_from: Annotated[int, typer.Option("--from", help="First year")],
    year_to: Annotated[int, typer.Option("--to", help="Last year")],
    output: OutOption,
    fmt: FormatOption = "docx",
) -> None:
    """The national review over a range of years, agencies rolled up to their successors."""
    _write(fmt, output, None, year_from, year_to)
