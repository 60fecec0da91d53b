"""Migrations: applied once, whoever starts first; `fracas migrate` is the same call."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect

from bot.store.engine import open_store
from bot.store.migrate import current, migrate


async def test_replicas_starting_together_migrate_once(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(4)]
    try:
        applied = await asyncio.gather(*(migrate(s) for s in stores))
        assert sorted(applied) == [[], [], [], ["0001", "0002"]]
        assert await current(stores[0]) == "0002"
        async with stores[0].engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await asyncio.gather(*(s.close() for s in stores))
    assert {"jobs", "workers", "slack_pace", "incidents", "timeline", "alembic_version"} <= tables
