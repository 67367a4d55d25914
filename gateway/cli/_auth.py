"""``rightshub clients``, ``rightshub api-keys`` and ``rightshub signing-keys``, and the demo
OAuth2 client that ``make run`` (``serve --demo``) creates for agency G16."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

import auth
from gateway.cli._settings import load_settings, run_on_hub
from hub import Hub, Settings, audit_in_own_transaction

console = Console(soft_wrap=True)
clients_app = typer.Typer(help="OAuth2 clients of agencies.", no_args_is_help=True)
api_keys_app = typer.Typer(help="API keys of clients.", no_args_is_help=True)
signing_keys_app = typer.Typer(help="Keys that sign access tokens.", no_args_is_help=True)

DEMO_OAUTH_CLIENT = "demo-g16"
DEMO_SECRET_FILE = Path("var/demo-client-secret")
T = TypeVar("T")


def register(app: typer.Typer) -> None:
    app.add_typer(clients_app, name="clients")
    app.add_typer(api_keys_app, name="api-keys")
    app.add_typer(signing_keys_app, name="signing-keys")


def _run(settings_factory: Callable[[], Settings],
         work: Callable[[Hub], Awaitable[T]],
         *,
         action: str | None = None,
         describe: Callable[[T], tuple[str | None, str | None]] | None = None) -> T:
    """Run ``work`` on a hub; with ``action``, audit it (as the operator at the console of the
    server, actor "cli") once it succeeded. ``describe`` gives the (agency, target) of the
    result."""

    async def audited(hub: Hub) -> T:
        result = await work(hub)
        if action is not None:
            agency, target = describe(result) if describe else (None, None)
            await audit_in_own_transaction(
                hub.db, actor="cli", actor_kind="system", agency=agency, action=action,
                target=target, request_id=None, outcome="ok", details={},
            )
        return result

    return run_on_hub(settings_factory(), audited, console)




def _settings() -> Settings:
    return load_settings(console)


def _scopes(value: str | None) -> list[str] | None:
    return None if value is None else [s for s in value.replace(",", " ").split() if s]


@clients_app.command("create")
def clients_create(
    agency: Annotated[str, typer.Option(help="Agency code, e.g. G16")],
    name: Annotated[str, typer.Option(help="What the client is, e.g. the agency's system")],
    scopes: Annotated[str | None, typer.Option(
        help="Space- or comma-separated; default records:read records:write changes:read")
    ] = None,
    auth_method: Annotated[str, typer.Option(
        help="client_secret_basic, client_secret_post or private_key_jwt")
    ] = "client_secret_basic",
    jwks: Annotated[Path | None, typer.Option(
        help="The client's public JWKS (JSON file); required for private_key_jwt",
        exists=True, dir_okay=False, readable=True)] = None,
    client_id: Annotated[str | None, typer.Option(help="Default: generated")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create an OAuth2 client; its secret is printed once and never stored in clear."""
    jwks_data = json.loads(jwks.read_text()) if jwks else None
    created = _run(_settings, lambda hub: auth.create_client(
        hub, agency=agency, name=name, scopes=_scopes(scopes), auth_method=auth_method,
        jwks=jwks_data, client_id=client_id, created_by="cli",
    ), action="cli.clients.create",
        describe=lambda c: (c.client.agency, f"client/{c.client.client_id}"))
    if as_json:
        typer.echo(json.dumps({"client_id": created.client.client_id,
                               "client_secret": created.client_secret,
                               "agency": created.client.agency,
                               "scopes": created.client.scopes,
                               "auth_method": created.client.auth_method}))
        return
    console.print(f"client_id:     {created.client.client_id}")
    if created.client_secret:
        console.print(f"client_secret: {created.client_secret}")
        console.print("[yellow]Giữ secret này: nó không được hiển thị lại. / "
                      "Keep this secret: it is not shown again.[/yellow]")
    console.print(f"scopes: {' '.join(created.client.scopes)}  "
                  f"auth method: {created.client.auth_method}")


@clients_app.command("list")
def clients_list(agency: Annotated[str | None, typer.Option()] = None) -> None:
    """List clients (never their secrets)."""
    found = _run(_settings, lambda hub: auth.list_clients(hub, agency=agency))
    table = Table(title="Clients")
    for column in ("client_id", "agency", "name", "auth method", "scopes", "active"):
        table.add_column(column)
    for c in found:
        table.add_row(c.client_id, c.agency, c.name, c.auth_method, " ".join(c.scopes),
                      "yes" if c.active else "no")
    console.print(table)


@api_keys_app.command("create")
def api_keys_create(
    client: Annotated[str, typer.Option(help="client_id the key acts for")],
    name: Annotated[str, typer.Option(help="What the key is for")] = "api key",
    scopes: Annotated[str | None, typer.Option(help="Subset of the client's; default all")] = None,
    expires_days: Annotated[int | None, typer.Option(help="Days until it expires")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create an API key (``rhk_...``), printed once."""
    expires = (datetime.now(UTC) + timedelta(days=expires_days)) if expires_days else None
    created = _run(_settings, lambda hub: auth.create_api_key(
        hub, client_id=client, name=name, scopes=_scopes(scopes), expires_at=expires,
        created_by="cli",
    ), action="cli.api_keys.create", describe=lambda k: (None, f"api_key/{k.info.key_id}"))
    if as_json:
        typer.echo(json.dumps({"key_id": created.info.key_id, "api_key": created.api_key,
                               "scopes": created.info.scopes}))
        return
    console.print(f"api key: {created.api_key}")
    console.print("[yellow]Giữ khoá này: nó không được hiển thị lại. / "
                  "Keep this key: it is not shown again.[/yellow]")


@api_keys_app.command("list")
def api_keys_list(client: Annotated[str | None, typer.Option()] = None,
                  prefix: Annotated[str | None, typer.Option()] = None) -> None:
    """List API keys by prefix (never the keys)."""
    found = _run(_settings, lambda hub: auth.list_api_keys(hub, client_id=client, prefix=prefix))
    table = Table(title="API keys")
    for column in ("prefix", "client", "name", "scopes", "expires", "last used", "revoked"):
        table.add_column(column)
    for k in found:
        table.add_row(k.prefix, k.client_id, k.name, " ".join(k.scopes),
                      str(k.expires_at or ""), str(k.last_used_at or ""),
                      str(k.revoked_at or ""))
    console.print(table)


@api_keys_app.command("revoke")
def api_keys_revoke(key: Annotated[str, typer.Argument(help="key id or rhk_<key id>")]) -> None:
    """Revoke an API key; effective on the next request."""
    info = _run(_settings, lambda hub: auth.revoke_api_key(hub, key),
                action="cli.api_keys.revoke", describe=lambda k: (None, f"api_key/{k.key_id}"))
    console.print(f"revoked {info.prefix}")


@signing_keys_app.command("rotate")
def signing_keys_rotate() -> None:
    """Add a new token-signing key and retire the current one (which keeps verifying the
    tokens it signed until they expired)."""

    async def work(hub: Hub) -> str:
        return await auth.rotate_signing_keys(hub.db, hub.settings, auth.authority(hub).box)

    kid = _run(_settings, work, action="cli.signing_keys.rotate",
               describe=lambda kid: (None, f"signing_key/{kid}"))
    console.print(f"New signing key {kid}; the previous key is retired.")


async def _ensure_demo_client(hub: Hub) -> str:
    """The demo client's secret, kept in var/demo-client-secret (demo installs only)."""
    existing = await auth.get_client(hub, DEMO_OAUTH_CLIENT)
    if existing is not None and DEMO_SECRET_FILE.exists():
        return DEMO_SECRET_FILE.read_text().strip()
    if existing is None:
        created = await auth.create_client(
            hub, agency="G16", name="Demo client of G16", client_id=DEMO_OAUTH_CLIENT,
            created_by="demo",
        )
    else:
        created = await auth.rotate_client_secret(hub, DEMO_OAUTH_CLIENT)
    secret = created.client_secret or ""
    DEMO_SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEMO_SECRET_FILE.write_text(secret)
    DEMO_SECRET_FILE.chmod(0o600)
    return secret


def ensure_demo_client(settings: Settings, base: str) -> list[str]:
    """Create the demo OAuth2 client if missing; the banner lines that show how to use it."""
    _run(lambda: settings, _ensure_demo_client)
    return [
        f"  OAuth2 demo client: agency G16, client_id {DEMO_OAUTH_CLIENT}, "
        f"secret in {DEMO_SECRET_FILE}",
        f"  TOKEN=$(curl -s -u {DEMO_OAUTH_CLIENT}:$(cat {DEMO_SECRET_FILE}) "
        f"-d grant_type=client_credentials {base}{auth.TOKEN_PATH} "
        "| python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f"  curl -H \"Authorization: Bearer $TOKEN\" '{base}/v1/products?limit=5'",
    ]
