"""Fixtures (store_url, store) for the store's contract, which runs on both backends: a new
SQLite file, and a new database on the test PostgreSQL server (FRACAS_TEST_DATABASE_URL, the
local one, or the embedded one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bot.store.engine import Store, open_store
from bot.store.migrate import migrate

__all__ = ["everything_stored", "store_fixture", "store_url_fixture"]

from fakes.pg import TempDatabase


@pytest.fixture(params=["sqlite", "postgresql"], name="store_url")
def store_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/fracas.db"
    db = TempDatabase(request.getfixturevalue("pg_admin"))
    db.__enter__()
    request.addfinalizer(lambda: db.__exit__(None, None, None))
    return db.url


@pytest.fixture(name="store")
async def store_fixture(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(store_url)
    await migrate(opened)
    yield opened
    await opened.close()


async def everything_stored(store: Store) -> str:
    """Every value in every table, as text: what someone reading the database would see."""
    async with store.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        rows = [
            row for name in names for row in (await conn.execute(text(f"SELECT * FROM {name}")))
        ]
    return "\n".join(" ".join(str(value) for value in row) for row in rows)
