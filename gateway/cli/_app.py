"""The ``rightshub`` command line."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import auth
import schemas
from gateway.cli._admins import ensure_demo_admin
from gateway.cli._admins import register as register_admin_commands
from gateway.cli._archive import register as register_archive_commands
from gateway.cli._auth import ensure_demo_client
from gateway.cli._auth import register as register_auth_commands
from gateway.cli._backup import register as register_backup_commands
from gateway.cli._bundle import register as register_bundle_commands
from gateway.cli._connectors import register as register_connector_commands
from gateway.cli._connectors import start_demo_simulator, stop_process
from gateway.cli._report import register as register_report_commands
from gateway.cli._secret_key import register as register_secret_key_commands
from gateway.cli._settings import load_settings
from hub import (
    AuditReport,
    Hub,
    HubError,
    ImportSummary,
    Principal,
    SchemaTooNew,
    Settings,
    detect_format,
    import_rows,
    plan_upgrade,
    read_rows,
    seed_demo,
    seed_reference,
    upgrade,
    verify_audit,
)

app = typer.Typer(help="RightsHub: the human-rights communication data-exchange hub.",
                  no_args_is_help=True)
db_app = typer.Typer(help="The central database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
register_auth_commands(app)  # clients, api-keys, signing-keys
register_admin_commands(app)  # admins
register_archive_commands(app)  # archive verify, clean
register_backup_commands(app)  # backup, backup verify, restore
register_connector_commands(app)  # worker, simulate-agency, connectors
register_report_commands(app)  # report annual, review
register_secret_key_commands(app)  # secret-key rotate, new
register_bundle_commands(app)  # bundle export, verify, import, keys
console = Console(soft_wrap=True)
err_console = Console(soft_wrap=True, stderr=True)

DEMO_AGENCY = "G16"
DEMO_CLIENT = "demo-g16"



@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the migrations to apply, apply none")
    ] = False,
) -> None:
    """Apply database migrations (SQLite or PostgreSQL). Lists what it will apply first, and
    refuses a database migrated by a newer release (exit code 3, nothing changed)."""
    settings = load_settings(console)
    try:
        plan = plan_upgrade(settings, revision)
    except HubError as exc:
        err_console.print(f"[red]Từ chối / refused:[/red] {exc.detail_vi}\n{exc.detail_en}")
        raise typer.Exit(3 if isinstance(exc, SchemaTooNew) else 2) from None
    console.print(f"Phiên bản hiện tại / current revision: {plan.current or '(trống / empty)'}"
                  f"; đích / target: {plan.target}")
    if not plan.steps:
        console.print("Không có gì để áp dụng / nothing to apply: the schema is current.")
        return
    verb = "Sẽ áp dụng / would apply" if dry_run else "Sẽ áp dụng / will apply"
    console.print(f"{verb} {len(plan.steps)} migration(s):")
    for step in plan.steps:
        console.print(f"  {step.revision}  {step.summary}", markup=False, highlight=False)
    if dry_run:
        console.print("--dry-run: không thay đổi gì / nothing changed.")
        return
    upgrade(settings, plan.target)
    console.print(f"Đã nâng cấp / Database upgraded to {revision} ({plan.target}).")


async def _seed(settings: Settings, demo: bool) -> None:
    hub = Hub(settings)
    try:
        report = await seed_reference(hub.db)
        console.print(
            f"Reference data: {report.agencies} agencies, "
            f"{report.terms_added} new vocabulary terms."
        )
        if demo:
            hub.catalog.invalidate()
            summary = await seed_demo(hub.ingest)
            console.print(
                f"Demo data: {summary.created} created, {summary.updated} updated, "
                f"{summary.unchanged} unchanged, {summary.rejected} rejected."
            )
    finally:
        await hub.close()


@app.command()
def seed(demo: Annotated[bool, typer.Option(help="Also load the demo data set")] = False) -> None:
    """Load the agency registry and vocabularies (and optionally demo records)."""
    asyncio.run(_seed(load_settings(console), demo))


def _demo_token(settings: Settings) -> str:
    """A development token for the demo agency, kept under var/ so restarts keep it."""
    path = Path("var/demo-token")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: RIGHTSHUB_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: RIGHTSHUB_PORT or 8000")] = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes")] = None,
    demo: Annotated[bool | None, typer.Option(help="Migrate and load demo data first "
                                              "(default on the embedded SQLite database)")] = None,
) -> None:
    """Serve the hub (REST API, docs, health and metrics)."""
    import uvicorn

    settings = load_settings(console)
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers
    embedded = settings.environment == "embedded"
    token = None
    base = f"http://{host}:{port}"
    if not settings.public_url:  # token issuer and metadata URLs name where we listen
        os.environ["RIGHTSHUB_PUBLIC_URL"] = base
    oauth_demo: list[str] = []
    simulator = None
    if demo if demo is not None else embedded and settings.is_sqlite:
        upgrade(settings)
        asyncio.run(_seed(settings, demo=True))
        oauth_demo = ensure_demo_client(settings, base)
        oauth_demo += ensure_demo_admin(settings, base)
        # The reference agency simulator and a connector to it: a sync within seconds.
        simulator, lines = start_demo_simulator(settings, port=settings.demo_simulator_port)
        oauth_demo += lines
        if settings.worker_in_process is None and not settings.worker_in_process_on:
            # On PostgreSQL too, the demo connector must actually pull: run the worker in
            # this server unless the configuration says where workers run.
            os.environ["RIGHTSHUB_WORKER_IN_PROCESS"] = "true"
            oauth_demo.append("  Worker (scheduled pulls, deliveries): in this server process")
    if embedded and not settings.dev_principals:
        token = _demo_token(settings)
        os.environ["RIGHTSHUB_DEV_PRINCIPALS"] = json.dumps([{
            "token": token, "agency": DEMO_AGENCY, "client_id": DEMO_CLIENT,
            "scopes": ["records:read", "records:write", "changes:read"],
        }])
    console.print(f"\n[bold]RightsHub[/bold] on {base}")
    console.print(f"  API docs (OpenAPI): {base}/docs")
    console.print(f"  health: {base}/healthz   ready: {base}/readyz   metrics: {base}/metrics")
    console.print(f"  GraphQL: {base}/graphql   admin console: {base}/console")
    if token:
        console.print(f"  Demo caller: agency {DEMO_AGENCY}, client {DEMO_CLIENT}")
        console.print(f"  curl -H 'Authorization: Bearer {token}' {base}/v1/products?limit=5\n")
    for line in oauth_demo:
        console.print(line, markup=False, highlight=False)
    try:
        uvicorn.run(
            "gateway.app:create_app", factory=True, host=host, port=port, workers=workers,
            log_config=None, access_log=False, proxy_headers=False,
        )
    finally:
        stop_process(simulator)


def _print_summary(summary: ImportSummary, *, limit: int = 50) -> None:
    table = Table(title="Kết quả nhập / Import summary")
    for column in ("created", "updated", "unchanged", "deleted", "rejected"):
        table.add_column(column, justify="right")
    table.add_row(*(str(getattr(summary, c)) for c in
                    ("created", "updated", "unchanged", "deleted", "rejected")))
    console.print(table)
    if summary.rejections:
        rejected = Table(title="Bản ghi bị từ chối / Rejected rows")
        for column in ("row", "source_id", "field", "lỗi", "error"):
            rejected.add_column(column)
        for r in summary.rejections[:limit]:
            rejected.add_row(str(r.index), r.source_id or "", r.path, r.message_vi, r.message_en)
        console.print(rejected)
        if len(summary.rejections) > limit:
            console.print(f"... {len(summary.rejections) - limit} more")


async def _import(settings: Settings, path: Path, record_type: str, agency: str,
                  dry_run: bool, fmt: str) -> ImportSummary:
    hub = Hub(settings)
    try:
        graph = await hub.catalog.agencies()
        if not graph.exists(agency):
            raise typer.BadParameter(f"unknown agency {agency}", param_hint="--agency")
        principal = Principal(f"cli-import:{agency}", agency, frozenset({"records:write"}), "file")
        model = schemas.RECORD_TYPES[record_type].model
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                      transient=False) as progress:
            total = path.stat().st_size
            task = progress.add_task(f"{path.name}", total=total)
            rows = read_rows(path, model, fmt)

            def tracked() -> Any:
                for count, row in enumerate(rows, start=1):
                    yield row
                    if count % 1000 == 0:
                        progress.update(task, description=f"{path.name}: {count} rows")

            summary = await import_rows(
                hub.ingest, principal, record_type, tracked(), dry_run=dry_run,
            )
            progress.update(task, completed=total)
        return summary
    finally:
        await hub.close()


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    record_type: Annotated[str, typer.Option("--type", "-t", help="Record type, e.g. products")],
    agency: Annotated[str, typer.Option("--agency", "-a", help="Owner agency code, e.g. G16")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate only, write nothing")
    ] = False,
) -> None:
    """Import an NDJSON, CSV or XLSX file of records through the ingest pipeline."""
    if record_type not in schemas.RECORD_TYPES:
        raise typer.BadParameter(
            f"choose one of {', '.join(schemas.RECORD_TYPES)}", param_hint="--type"
        )
    settings = load_settings(console)
    try:
        fmt = detect_format(file)
        summary = asyncio.run(_import(settings, file, record_type, agency, dry_run, fmt))
    except HubError as exc:
        console.print(f"[red]{exc.detail_vi}[/red]\n{exc.detail_en}")
        raise typer.Exit(1) from None
    _print_summary(summary)
    raise typer.Exit(1 if summary.rejected else 0)


async def _verify_audit(
    settings: Settings, checkpoint: str | None = None, jwks: dict[str, Any] | None = None
) -> AuditReport:
    hub = Hub(settings)
    try:
        if checkpoint is not None:
            return await auth.verify_audit_checkpoint(hub, checkpoint, jwks=jwks)
        async with hub.db.session() as session:
            return await verify_audit(session)
    finally:
        await hub.close()


def _read_text(path: Path, what_vi: str, what_en: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        console.print(f"[red]Không đọc được {what_vi} / cannot read the {what_en}:[/red] "
                      f"{path}: {exc}")
        raise typer.Exit(2) from None


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint", dir_okay=False,
            help="A file written by `rightshub audit checkpoint`: its signature is checked, "
                 "and the entry it names must still end in its hash",
        ),
    ] = None,
    jwks: Annotated[
        Path | None,
        typer.Option(
            "--jwks", dir_okay=False,
            help="Check the checkpoint's signature against this JWKS file (kept with the "
                 "checkpoint) instead of the signing keys in the database",
        ),
    ] = None,
) -> None:
    """Walk the whole audit chain; exit 1 naming the first changed, removed or missing entry.
    With --checkpoint, also a rewrite or truncation made after that checkpoint."""
    token = _read_text(checkpoint, "tệp điểm neo", "checkpoint file") if checkpoint else None
    key_set: dict[str, Any] | None = None
    if jwks is not None:
        if token is None:
            raise typer.BadParameter("--jwks goes with --checkpoint", param_hint="--jwks")
        try:
            key_set = json.loads(_read_text(jwks, "tệp JWKS", "JWKS file"))
        except ValueError:
            console.print("[red]Tệp JWKS không phải JSON / the JWKS file is not JSON[/red]")
            raise typer.Exit(2) from None
        if not isinstance(key_set, dict):
            console.print("[red]Tệp JWKS không hợp lệ / the JWKS file is not a key set[/red]")
            raise typer.Exit(2)
    try:
        report = asyncio.run(_verify_audit(load_settings(console), token, key_set))
    except HubError as exc:
        console.print(f"[red]FAILED[/red] {exc.detail_vi}\n{exc.detail_en}")
        raise typer.Exit(1) from None
    if report.ok:
        console.print(f"[green]OK[/green] {report.summary()}")
        raise typer.Exit(0)
    console.print(f"[red]FAILED[/red] {report.summary()}")
    raise typer.Exit(1)


async def _checkpoint(settings: Settings) -> tuple[AuditReport, str | None]:
    hub = Hub(settings)
    try:
        return await auth.create_audit_checkpoint(hub)
    finally:
        await hub.close()


@audit_app.command("checkpoint")
def audit_checkpoint(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", dir_okay=False,
                     help="Write the checkpoint to this file (default: standard output)"),
    ] = None,
) -> None:
    """Verify the chain and print its head signed by the hub's signing key (a compact JWS),
    to keep outside the database; `audit verify --checkpoint FILE` checks against it."""
    report, token = asyncio.run(_checkpoint(load_settings(console)))
    if token is None:
        err_console.print(f"[red]FAILED[/red] không ký điểm neo cho một chuỗi hỏng / "
                          f"no checkpoint of a broken chain\n{report.summary()}")
        raise typer.Exit(1)
    if out is None:
        typer.echo(token)
    else:
        out.write_text(token + "\n", encoding="utf-8")
    err_console.print(
        f"Điểm neo / checkpoint: seq {report.head_seq}, {report.entries} mục / entries, "
        f"hash {report.head_hash}" + (f" -> {out}" if out else "")
    )


@app.command("export-contracts")
def export_contracts(
    check: Annotated[bool, typer.Option(help="Fail if the committed files differ")] = False,
) -> None:
    """Write openapi/openapi.json, openapi/schema.graphql and the JSON Schemas of the data
    standard."""
    from gateway._contracts import drifted_contracts, write_contracts

    if check:
        drift = drifted_contracts()
        if drift:
            console.print("[red]Contracts out of date:[/red] " + ", ".join(drift))
            raise typer.Exit(1)
        console.print("Contracts are current.")
        return
    for path in write_contracts():
        console.print(f"wrote {path}")

