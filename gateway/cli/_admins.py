"""``rightshub admins`` (console accounts) and the demo hub admin that ``make run``
(``serve --demo``) creates when missing."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from auth import ROLES, create_admin, get_admin, list_admins
from gateway.cli._settings import load_settings
from hub import Hub, HubError, Settings, audit_in_own_transaction

console = Console(soft_wrap=True)
admins_app = typer.Typer(help="Admin accounts of the console and the admin API.",
                         no_args_is_help=True)

PASSWORD_ENV = "RIGHTSHUB_ADMIN_PASSWORD"
DEMO_ADMIN = "demo-admin"
DEMO_PASSWORD_FILE = Path("var/demo-admin-password")


def register(app: typer.Typer) -> None:
    app.add_typer(admins_app, name="admins")



@admins_app.command("create")
def admins_create(
    username: Annotated[str, typer.Option(help="Login name, e.g. an e-mail address")],
    role: Annotated[str, typer.Option(help="hub_admin or agency_admin")],
    agency: Annotated[str | None, typer.Option(help="Agency code (agency_admin)")] = None,
    display_name: Annotated[str | None, typer.Option()] = None,
    sso_subject: Annotated[str | None, typer.Option(help="OIDC 'sub' to link")] = None,
    no_password: Annotated[bool, typer.Option(help="SSO only: no local password")] = False,
) -> None:
    """Create an admin account. The password is read from RIGHTSHUB_ADMIN_PASSWORD, or
    prompted for (never taken on the command line, where it would land in shell history)."""
    if role not in ROLES:
        raise typer.BadParameter(f"choose one of {', '.join(ROLES)}", param_hint="--role")
    password = None
    if not no_password:
        password = os.environ.get(PASSWORD_ENV) or typer.prompt(
            "Password", hide_input=True, confirmation_prompt=True
        )

    async def go() -> None:
        hub = Hub(load_settings(console))
        try:
            info = await create_admin(hub, username=username, role=role, agency=agency,
                                      password=password, display_name=display_name,
                                      sso_subject=sso_subject)
            await audit_in_own_transaction(
                hub.db, actor="cli", actor_kind="system", agency=info.agency,
                action="cli.admins.create", target=f"admin/{info.username}",
                request_id=None, outcome="ok", details={"role": info.role},
            )
        finally:
            await hub.close()
        console.print(f"Created {info.role} {info.username}"
                      + (f" of agency {info.agency}" if info.agency else ""))

    try:
        asyncio.run(go())
    except HubError as exc:
        console.print(f"[red]{exc.detail_vi}[/red]\n{exc.detail_en}")
        raise typer.Exit(1) from None


@admins_app.command("list")
def admins_list(agency: Annotated[str | None, typer.Option()] = None) -> None:
    """List admin accounts (never their password hashes)."""

    async def go() -> None:
        hub = Hub(load_settings(console))
        try:
            admins = await list_admins(hub, agency=agency)
        finally:
            await hub.close()
        table = Table(title="Admins")
        for column in ("username", "role", "agency", "active", "password", "sso"):
            table.add_column(column)
        for a in admins:
            table.add_row(a.username, a.role, a.agency or "", str(a.active),
                          "yes" if a.has_password else "no", a.sso_subject or "")
        console.print(table)

    asyncio.run(go())


async def _ensure_demo_admin(hub: Hub) -> str | None:
    """The demo hub admin's password when this run created it (or kept it in var/)."""
    if await get_admin(hub, DEMO_ADMIN) is None:
        password = secrets.token_urlsafe(18)
        await create_admin(hub, username=DEMO_ADMIN, role="hub_admin", password=password,
                           display_name="Demo hub admin")
        DEMO_PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEMO_PASSWORD_FILE.write_text(password)
        DEMO_PASSWORD_FILE.chmod(0o600)
        return password
    if DEMO_PASSWORD_FILE.exists():
        return DEMO_PASSWORD_FILE.read_text().strip()
    return None


def ensure_demo_admin(settings: Settings, base: str) -> list[str]:
    """Create the demo hub admin if missing; the lines ``serve`` prints about it."""

    async def go() -> str | None:
        hub = Hub(settings)
        try:
            return await _ensure_demo_admin(hub)
        finally:
            await hub.close()

    password = asyncio.run(go())
    shown = password or f"(set earlier; reset with `rightshub admins` or see {DEMO_PASSWORD_FILE})"
    return [
        f"  Demo hub admin: {DEMO_ADMIN} / {shown}",
        f"  curl -X POST {base}/v1/admin/session -H 'Content-Type: application/json' "
        f"-d '{{\"username\": \"{DEMO_ADMIN}\", \"password\": \"{password or '...'}\"}}'",
    ]
