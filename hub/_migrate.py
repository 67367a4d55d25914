"""Alembic, driven from code: ``rightshub db upgrade`` and the readiness check use it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub._db import create_engine
from hub._errors import Conflict, InvalidInput
from hub._settings import Settings


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("hub") / "migrations"))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Upgrade the database. Runs its own event loop: call it from synchronous code only."""
    command.upgrade(alembic_config(settings), revision)


async def upgrade_async(settings: Settings, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, settings, revision)


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


@dataclass(frozen=True)
class MigrationStep:
    revision: str
    summary: str  # the first line of the migration's docstring


@dataclass(frozen=True)
class UpgradePlan:
    current: str | None  # None: an empty database
    target: str
    steps: list[MigrationStep]  # in the order they will be applied


class SchemaTooNew(Conflict):
    """The database was migrated by a newer release (or a branch this code does not know):
    running this code's migrations, or this code at all, could damage it."""

    type_slug = "schema-too-new"
    title_vi = "Lược đồ cơ sở dữ liệu mới hơn phiên bản này"
    title_en = "Database schema newer than this release"


async def _database_revision(settings: Settings) -> str | None:
    engine = create_engine(settings, command_timeout=None)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


def database_revision(settings: Settings) -> str | None:
    """The revision stamped in ``alembic_version``. Synchronous code only (own event loop)."""
    return asyncio.run(_database_revision(settings))


def plan_upgrade(settings: Settings, target: str = "head") -> UpgradePlan:
    """What ``upgrade(settings, target)`` would apply, read without changing anything.
    Raises :class:`SchemaTooNew` when the database's revision is not one this code ships
    (a newer release migrated it), InvalidInput for an unknown target and Conflict for a
    target behind the database."""
    script = ScriptDirectory.from_config(alembic_config(settings))
    current = database_revision(settings)
    if current is not None:
        try:
            known = script.get_revision(current)
        except (CommandError, RevisionError):
            known = None
        if known is None:
            head = script.get_current_head()
            raise SchemaTooNew(
                f"Cơ sở dữ liệu đang ở phiên bản lược đồ {current}, mà bản cài đặt này không "
                f"biết (phiên bản mới nhất nó có là {head}): có lẽ một bản phát hành mới hơn "
                "đã nâng cấp nó. Không thay đổi gì; hãy dùng bản phát hành tương ứng.",
                f"The database is at schema revision {current}, which this release does not "
                f"know (its newest is {head}): a newer release probably upgraded it. Nothing "
                "was changed; run the matching release.",
                current=current, head=head,
            )
    try:
        resolved = script.get_revision(target)
    except (CommandError, RevisionError):
        raise InvalidInput(
            f"Không có phiên bản lược đồ {target} trong bản cài đặt này.",
            f"This release has no schema revision {target}.",
        ) from None
    if resolved is None:  # "base"
        return UpgradePlan(current, "base", [])
    try:
        revisions = list(script.iterate_revisions(resolved.revision, current or "base"))
    except (CommandError, RevisionError):  # the target is behind the database: a downgrade
        raise Conflict(
            f"Cơ sở dữ liệu ({current}) đã mới hơn phiên bản {target}; nâng cấp không hạ "
            "cấp. Không thay đổi gì.",
            f"The database ({current}) is already past revision {target}; upgrade does not "
            "downgrade. Nothing was changed.",
        ) from None
    steps = [
        MigrationStep(r.revision, (r.doc or "").strip().splitlines()[0] if r.doc else "")
        for r in reversed(revisions)
    ]
    return UpgradePlan(current, resolved.revision, steps)
