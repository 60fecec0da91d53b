"""Connections that cannot harm the patient (reference §5).

Every connection: no statement cache (transaction poolers break named statements), a connect
timeout, `application_name=fracas` (the one startup parameter PgBouncer and Supavisor accept).
Every query: inside `BEGIN READ ONLY` with `statement_timeout` and `lock_timeout` set LOCAL (so
they end with the transaction and never leak to another pool client), through `fetch*` only:
the extended protocol refuses several statements in one string, so `COMMIT; DROP ...` cannot
ride along. A statement that ends the transaction anyway (a bare `COMMIT`) is caught before the
next one runs. The real guard is still a role that can only read; the README shows it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from bot.errors import FracasError

APPLICATION = "fracas"
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """Seconds each kind of wait may take before the probe gives up with a cause."""

    connect: float = 5.0
    statement: float = 5.0
    lock: float = 1.0


DEFAULT = Limits()


class GuardError(FracasError):
    """A statement left the read-only transaction; the connection is dropped at once."""


async def connect(
    dsn: str, limits: Limits, address: tuple[str, int] | None = None
) -> asyncpg.Connection:
    """`address` dials the host and port the probe chose (the URL's host is otherwise resolved
    again); asyncpg takes the port from the URL only along with its host."""
    host, port = address or (None, None)
    return await asyncpg.connect(
        dsn,
        host=host,
        port=port,
        timeout=limits.connect,
        command_timeout=limits.statement + 1,  # the client's backstop behind the server's
        statement_cache_size=0,
        server_settings={"application_name": APPLICATION},
    )


class ReadOnly:
    """The only face of a probe connection: fetch calls in a read-only transaction."""

    def __init__(self, con: asyncpg.Connection) -> None:
        self._con = con

    @property
    def server_pid(self) -> int:
        """The pid the server announced at startup; a pooler announces its own."""
        return self._con.get_server_pid()

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        return await self._guarded(self._con.fetch, sql, args)

    async def fetchrow(self, sql: str, *args: object) -> asyncpg.Record | None:
        return await self._guarded(self._con.fetchrow, sql, args)

    async def fetchval(self, sql: str, *args: object) -> Any:
        return await self._guarded(self._con.fetchval, sql, args)

    async def _guarded(
        self, call: Callable[..., Awaitable[T]], sql: str, args: tuple[object, ...]
    ) -> T:
        self._check()
        result = await call(sql, *args)
        self._check()
        return result

    def _check(self) -> None:
        if not self._con.is_in_transaction():
            self._con.terminate()
            raise GuardError(
                "a probe statement ended the read-only transaction; fracas dropped the "
                "connection before anything else could run.",
                "Probe SQL must be a single read; this is a bug in fracas, please report it.",
            )


@asynccontextmanager
async def read_only(con: asyncpg.Connection, limits: Limits) -> AsyncIterator[ReadOnly]:
    """A read-only, time-boxed transaction on an open connection; rolled back at the end."""
    tx = con.transaction(readonly=True)
    await tx.start()
    try:
        await con.fetchrow(
            "SELECT set_config('statement_timeout', $1, true),"
            " set_config('lock_timeout', $2, true)",
            f"{int(limits.statement * 1000)}ms",
            f"{int(limits.lock * 1000)}ms",
        )
        yield ReadOnly(con)
    finally:
        if not con.is_closed() and con.is_in_transaction():
            try:
                await tx.rollback()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                con.terminate()  # the first error is the one to report, not this one


@asynccontextmanager
async def session(
    dsn: str, limits: Limits = DEFAULT, address: tuple[str, int] | None = None
) -> AsyncIterator[ReadOnly]:
    """Connect (to `address` if given, see `connect`), read, close: what schema and stuck use."""
    con = await connect(dsn, limits, address)
    try:
        async with read_only(con, limits) as ro:
            yield ro
    finally:
        await close(con)


async def close(con: asyncpg.Connection) -> None:
    """Close politely if the server answers in a second, else drop the socket."""
    if con.is_closed():
        return
    try:
        await con.close(timeout=1)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        con.terminate()
