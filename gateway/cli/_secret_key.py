"""``rightshub secret-key``: change the hub's secret key without stopping it.

Run every process with the new key in ``RIGHTSHUB_SECRET_KEY`` and the old one in
``RIGHTSHUB_SECRET_KEY_PREVIOUS`` (both are accepted meanwhile), then ``secret-key rotate``:
in one transaction under the write lock it re-keys the audit chain (after verifying it) and
re-seals the token-signing keys, connector and subscription secrets under the new key. The
client-secret and API-key hashes cannot be recomputed without the secrets: they are upgraded on
their next use, and ``rotate`` reports how many still wait. A wrong previous key is refused
before anything changes (exit code 3); a second run changes nothing.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Annotated

import typer
from cryptography.exceptions import InvalidTag
from rich.console import Console

from auth import SecretBox, reseal_signing_keys, stale_hashes
from connectors import reseal_connector_secrets
from gateway.cli._settings import load_settings
from hub import Hub, Settings, append_audit, rekey_audit_chain

console = Console(soft_wrap=True)
err_console = Console(soft_wrap=True, stderr=True)
secret_key_app = typer.Typer(help="The hub's secret key: rotation.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(secret_key_app, name="secret-key")



class RotationRefused(Exception):
    """The stored values do not verify or open under the current or the previous key."""

    def __init__(self, detail_vi: str, detail_en: str) -> None:
        super().__init__(detail_en)
        self.detail_vi, self.detail_en = detail_vi, detail_en


@dataclass(slots=True)
class RotationReport:
    """What a rotation re-keyed (per kind) and the hashes still under an old key."""

    rekeyed: dict[str, int] = field(default_factory=dict)
    awaiting_rehash: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(self.rekeyed.values())


async def rotate(settings: Settings, *, dry_run: bool = False) -> RotationReport:
    """Re-key everything that can be re-keyed now, in one transaction (rolled back on
    ``dry_run`` or refusal)."""
    hub = Hub(settings)
    try:
        box = SecretBox.from_settings(settings)
        async with hub.db.session() as session:
            try:
                chain, entries = await rekey_audit_chain(
                    session, key=hub.db.audit_key, previous=hub.db.previous_audit_keys
                )
                if not chain.ok:
                    raise RotationRefused(
                        "chuỗi kiểm toán không khớp khoá hiện tại hay khoá trước "
                        f"(RIGHTSHUB_SECRET_KEY_PREVIOUS sai?): {chain.reason_vi}",
                        "the audit chain verifies under neither the current nor the previous "
                        f"key (wrong RIGHTSHUB_SECRET_KEY_PREVIOUS?): {chain.reason}",
                    )
                report = RotationReport({"audit_entries": entries})
                try:
                    report.rekeyed["signing_keys"] = await reseal_signing_keys(session, box)
                    report.rekeyed.update(await reseal_connector_secrets(session, settings))
                except InvalidTag:
                    raise RotationRefused(
                        "một giá trị mã hoá không mở được bằng khoá hiện tại hay khoá trước "
                        "(RIGHTSHUB_SECRET_KEY_PREVIOUS sai?)",
                        "a sealed value opens under neither the current nor the previous key "
                        "(wrong RIGHTSHUB_SECRET_KEY_PREVIOUS?)",
                    ) from None
                report.awaiting_rehash = await stale_hashes(session, box)
                if report.changed and not dry_run:
                    await append_audit(
                        session, actor="cli", actor_kind="system", agency=None,
                        action="secret_key.rotate", details=dict(report.rekeyed),
                    )
            except BaseException:
                await session.rollback()
                raise
            if dry_run:
                await session.rollback()
            else:
                await session.commit()
        return report
    finally:
        await hub.close()


@secret_key_app.command("rotate")
def rotate_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be re-keyed, change nothing")
    ] = False,
) -> None:
    """Re-key the audit chain and re-seal every stored secret under RIGHTSHUB_SECRET_KEY
    (the old key in RIGHTSHUB_SECRET_KEY_PREVIOUS); report hashes still awaiting a re-hash."""
    try:
        report = asyncio.run(rotate(load_settings(err_console), dry_run=dry_run))
    except RotationRefused as exc:
        err_console.print(f"[red]Từ chối / refused:[/red] {exc.detail_vi}\n{exc.detail_en}\n"
                          "Không có gì thay đổi / nothing changed.")
        raise typer.Exit(3) from None
    verb = "sẽ đổi khoá / would re-key" if dry_run else "đã đổi khoá / re-keyed"
    for kind, count in report.rekeyed.items():
        console.print(f"{verb} {kind}: {count}")
    for kind, count in report.awaiting_rehash.items():
        console.print(f"chờ băm lại / awaiting rehash {kind}: {count}")
    if any(report.awaiting_rehash.values()):
        console.print("Giữ RIGHTSHUB_SECRET_KEY_PREVIOUS cho đến khi các mã băm trên được dùng "
                      "lại (hoặc cấp lại secret) / keep RIGHTSHUB_SECRET_KEY_PREVIOUS until these "
                      "are used again (or their secrets reissued).")


@secret_key_app.command("new")
def new_command() -> None:
    """Print a fresh random secret key (64 URL-safe characters) for RIGHTSHUB_SECRET_KEY."""
    typer.echo(secrets.token_urlsafe(48))
