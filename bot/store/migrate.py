"""Migrations at start-up, once however many replicas start together: on PostgreSQL the first
takes a transaction-scoped advisory lock and the others wait for it, then find nothing to do;
on SQLite the BEGIN IMMEDIATE of the migration transaction is the file's own write lock."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.store.engine import Store

LOCK_KEY = 0x66726163  # "frac": the advisory lock every fracas replica agrees on
SCRIPTS = Path(__file__).with_name("migrations")


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


async def migrate(store: Store) -> list[str]:
    """Bring the store to the newest revision; returns the revisions applied (none if current)."""
    async with store.write() as conn:
        if store.postgres:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        return await conn.run_sync(_upgrade)


def _upgrade(connection: Connection) -> list[str]:
    config = _config(connection)
    before = MigrationContext.configure(connection).get_current_revision()
    scripts = ScriptDirectory.from_config(config)
    if before == scripts.get_current_head():
        return []
    command.upgrade(config, "head")
    applied = [s.revision for s in scripts.iterate_revisions("head", before)]
    return list(reversed(applied))


async def current(store: Store) -> str | None:
    async with store.read() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
