"""One SQLAlchemy async engine per process, on SQLite or PostgreSQL, set up the way the job
queue needs it: SQLite in WAL mode with a busy timeout and write transactions that take the
file lock at BEGIN, so two processes never meet halfway through a read-then-write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import ConfigError, Problem

BUSY_MS = 5000  # how long a writer waits for the SQLite file lock before giving up
DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
ALIASES = {
    "postgres": "postgresql",
    "sqlite+aiosqlite": "sqlite",
    "postgresql+asyncpg": "postgresql",
}


@dataclass(frozen=True)
class Store:
    """The engine, and which of the two backends it is (a few statements differ)."""

    engine: AsyncEngine
    url: URL

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def where(self) -> str:
        """The store as users write it, without the driver and never with the password."""
        plain = self.url.set(drivername=self.url.get_backend_name())
        return plain.render_as_string(hide_password=True)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def store_url(raw: str) -> URL:
    """`sqlite:///fracas.db` or `postgresql://…` as users write them, with the async driver."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError([Problem("FRACAS_STORE_URL", "is not a database URL")]) from None
    backend = ALIASES.get(url.drivername, url.drivername)
    if backend not in DRIVERS:
        raise ConfigError(
            [Problem("FRACAS_STORE_URL", "must start with sqlite:/// or postgresql://")]
        )
    return url.set(drivername=DRIVERS[backend])


def open_store(raw: str, **engine_args: Any) -> Store:
    url = store_url(raw)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, **engine_args)
        _sqlite_pragmas(engine)
    else:
        engine = create_async_engine(url, **engine_args)
    return Store(engine, url)


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    """WAL lets readers go on while one process writes; BEGIN IMMEDIATE (SQLAlchemy's recipe for
    aiosqlite, with the driver's own transaction handling off) takes the write lock up front."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
