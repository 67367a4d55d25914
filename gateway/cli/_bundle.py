"""``rightshub bundle``: offline exchange bundles (export, verify, import, keys), for hubs the
network does not join (docs/exchange-api.md, "Offline exchange bundles")."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

import auth
import connectors
from gateway.cli._settings import load_settings
from hub import Hub, HubError, Settings

console = Console(soft_wrap=True)
err_console = Console(soft_wrap=True, stderr=True)
bundle_app = typer.Typer(help="Offline exchange bundles between hubs.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(bundle_app, name="bundle")



def _refused(exc: HubError) -> typer.Exit:
    err_console.print(f"[red]{exc.detail_vi}[/red]", markup=True, highlight=False)
    err_console.print(exc.detail_en, markup=False, highlight=False)
    return typer.Exit(1)


def _jwks(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        err_console.print(f"[red]Không đọc được JWKS / cannot read the JWKS:[/red] {exc}")
        raise typer.Exit(2) from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        err_console.print("[red]JWKS phải là {\"keys\": [...]} / a JWKS is {\"keys\": [...]}[/red]")
        raise typer.Exit(2)
    return data


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


async def _with_hub(settings: Settings, work: Any) -> Any:
    hub = Hub(settings)
    try:
        return await work(hub)
    finally:
        await hub.close()


@bundle_app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="The bundle file to write")],
    as_agency: Annotated[str, typer.Option("--as-agency",
                                           help="Agency whose read rights apply")],
    agencies: Annotated[str | None, typer.Option(
        "--agency", help="Owner agencies, comma-separated (default: all it may read)")] = None,
    types: Annotated[str | None, typer.Option(
        "--type", help="Record types, comma-separated (default: all)")] = None,
    after: Annotated[int, typer.Option(help="Change-feed cursor to start after")] = 0,
    until: Annotated[int | None, typer.Option(help="Last seq to include")] = None,
    files: Annotated[bool, typer.Option("--files/--no-files", help="Carry file bytes")] = True,
) -> None:
    """Write the changes after a cursor as one signed bundle (this hub's signing key)."""
    async def work(hub: Hub) -> dict[str, Any]:
        return await connectors.export_bundle(
            hub, out, as_agency=as_agency, agencies=_split(agencies),
            record_types=_split(types), after=after, until=until, files=files)

    try:
        manifest = asyncio.run(_with_hub(load_settings(console), work))
    except HubError as exc:
        raise _refused(exc) from None
    counts, cursor = manifest["counts"], manifest["cursor"]
    console.print(f"Đã ghi / wrote {out}: {counts['changes']} thay đổi / changes, "
                  f"{counts['files']} tệp / files, seq {cursor['after']}..{cursor['until']} "
                  f"(bundle {manifest['bundle_id']}).", markup=False, highlight=False)


@bundle_app.command("keys")
def keys(
    out: Annotated[Path, typer.Option("--out", help="Where to write this hub's JWKS")],
) -> None:
    """Write this hub's public JWKS: the importing hub trusts bundles signed by these keys."""
    jwks = asyncio.run(_with_hub(load_settings(console), auth.jwks))
    out.write_bytes(orjson.dumps(jwks, option=orjson.OPT_INDENT_2))
    console.print(f"Đã ghi / wrote {out} ({len(jwks['keys'])} khoá / keys).")


@bundle_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="The bundle file")],
    jwks: Annotated[Path, typer.Option("--jwks", help="The exporting hub's JWKS (a file)")],
    issuer: Annotated[str | None, typer.Option(help="Expected exporting hub (issuer)")] = None,
) -> None:
    """Check signature, completeness and checksums; needs no database (exit code 1 when
    refused)."""
    try:
        bundle = connectors.read_bundle(file, _jwks(jwks), issuer=issuer)
    except HubError as exc:
        raise _refused(exc) from None
    m = bundle.manifest
    console.print(f"Gói hợp lệ / bundle valid: {m.bundle_id} từ / from {m.issuer} "
                  f"(kid {bundle.kid}); {m.counts.changes} thay đổi / changes "
                  f"(upsert {m.counts.upserts}, delete {m.counts.deletes}, "
                  f"withdraw {m.counts.withdraws}), {m.counts.files} tệp / files, "
                  f"seq {m.cursor.after}..{m.cursor.until}.", markup=False, highlight=False)


@bundle_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The bundle file")],
    connector: Annotated[str, typer.Option(
        "--connector", help="The hub-feed connector of the exporting hub (its checkpoint)")],
    jwks: Annotated[Path | None, typer.Option(
        "--jwks", help="The exporting hub's JWKS (default: the connector's bundle_jwks)")
    ] = None,
) -> None:
    """Import a bundle through the ingest pipeline: each change once, in order; prints the
    summary as JSON (exit code 1 when refused or when records were rejected)."""
    keys = _jwks(jwks) if jwks is not None else None

    async def work(hub: Hub) -> dict[str, Any]:
        return await connectors.import_bundle(hub, file, connector_id=connector, jwks=keys)

    try:
        report = asyncio.run(_with_hub(load_settings(console), work))
    except HubError as exc:
        raise _refused(exc) from None
    console.print_json(orjson.dumps(report, default=str).decode())
    if report["rejected"]:
        raise typer.Exit(1)
