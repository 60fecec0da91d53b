"""The probe session cannot write, gives up on time, and never trips over a transaction pooler;
the classifier names what the driver raises."""

from __future__ import annotations

import asyncio
import socket

import asyncpg
import pytest

from bot.diagnoses import PREPARED
from bot.integrations.postgres.classify import classify
from bot.integrations.postgres.session import GuardError, Limits, session
from bot.integrations.supabase import parse_db_url

from fakes.pg import TempDatabase, run_sql
from fakes.pgbouncer import PgBouncer

FAST = Limits(connect=2, statement=0.2, lock=0.1)


@pytest.fixture
def table(tempdb: TempDatabase) -> str:
    run_sql(
        tempdb.url,
        "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2); CREATE SEQUENCE kept_seq;",
    )
    return tempdb.url


async def count(url: str) -> tuple[int, list[str]]:
    con = await asyncpg.connect(url)
    try:
        rows = await con.fetchval("SELECT count(*) FROM kept")
        tables = await con.fetch("SELECT relname FROM pg_class WHERE relname LIKE 'evil%'")
        return rows, [r["relname"] for r in tables]
    finally:
        await con.close()


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("INSERT INTO kept VALUES (3)", asyncpg.ReadOnlySQLTransactionError),
        ("DELETE FROM kept", asyncpg.ReadOnlySQLTransactionError),
        ("CREATE TABLE evil (id int)", asyncpg.ReadOnlySQLTransactionError),
        ("SELECT nextval('kept_seq')", asyncpg.ReadOnlySQLTransactionError),
        ("COMMIT; CREATE TABLE evil2 (id int)", asyncpg.PostgresSyntaxError),
        ("SET transaction_read_only = off", asyncpg.ActiveSQLTransactionError),
        ("COMMIT", GuardError),
    ],
)
async def test_a_probe_session_cannot_write(table: str, sql: str, refused: type) -> None:
    with pytest.raises(refused):
        async with session(table, FAST) as ro:
            await ro.fetch(sql)
            await ro.fetch("CREATE TABLE evil3 (id int)")  # what would follow a bare COMMIT
    assert await count(table) == (2, [])


async def test_the_transaction_limits_are_local_to_the_probe(table: str) -> None:
    async with session(table, FAST) as ro:
        inside = await ro.fetchrow(
            "SELECT current_setting('statement_timeout') AS st, "
            "current_setting('lock_timeout') AS lt, current_setting('transaction_read_only') AS ro,"
            " current_setting('application_name') AS app"
        )
    assert dict(inside) == {"st": "200ms", "lt": "100ms", "ro": "on", "app": "fracas"}


async def test_a_slow_query_is_cancelled_by_the_server_and_named(table: str) -> None:
    with pytest.raises(asyncpg.QueryCanceledError) as caught:
        async with session(table, FAST) as ro:
            await ro.fetchval("SELECT pg_sleep(2)")
    assert classify(caught.value).name.startswith("a query ran past statement_timeout")


async def test_a_held_lock_is_named(table: str) -> None:
    holder = await asyncpg.connect(table)
    try:
        await holder.execute("BEGIN; LOCK TABLE kept IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(asyncpg.LockNotAvailableError) as caught:
            async with session(table, FAST) as ro:
                await ro.fetchval("SELECT count(*) FROM kept")
    finally:
        await holder.close()
    assert classify(caught.value).name.startswith("a query waited past lock_timeout")


async def burst(url: str) -> list[BaseException]:
    """8 tasks sharing a pool of 4 through the pooler, with asyncpg's default statement cache:
    what a worker with a pool does."""
    errors: list[BaseException] = []
    async with asyncpg.create_pool(url, min_size=4, max_size=4) as pool:

        async def work(n: int) -> None:
            for i in range(20):
                try:
                    await pool.fetchval("SELECT $1::int + $2::int", i, n)
                except asyncpg.PostgresError as exc:
                    errors.append(exc)

        await asyncio.gather(*(work(n) for n in range(8)))
    return errors


async def test_prepared_statements_break_through_pgbouncer_and_the_probe_does_not(
    pgbouncer: PgBouncer, tempdb: TempDatabase
) -> None:
    url = pgbouncer.url("postgres", pgbouncer.password, tempdb.name)
    broken = await burst(url)
    assert broken, "transaction pooling should break asyncpg's statement cache"
    assert {classify(e) for e in broken} == {PREPARED}

    async def probe_reads() -> None:
        for i in range(20):
            async with session(url, FAST) as ro:
                assert await ro.fetchval("SELECT $1::int", i) == i

    await asyncio.gather(*(probe_reads() for _ in range(8)))


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (OSError(101, "Network is unreachable"), "only an IPv6 address"),
        (OSError(113, "No route to host"), "only an IPv6 address"),
        (OSError(99, "Cannot assign requested address"), "only an IPv6 address"),
        (socket.gaierror(-2, "Name or service not known"), "only an IPv6 address"),
        (TimeoutError(), "did not answer within 5 s"),
    ],
)
def test_network_errors_on_the_direct_host(exc: BaseException, cause: str) -> None:
    url = parse_db_url("postgresql://postgres:pw@db.abcdefghij.supabase.co:5432/postgres")
    assert cause in classify(exc, url).name


def test_network_unreachable_elsewhere_names_the_route() -> None:
    url = parse_db_url("postgresql://u:pw@10.0.0.5:5432/db")
    found = classify(OSError(101, "Network is unreachable"), url)
    assert found.name == "no network route to 10.0.0.5:5432 (errno 101)"
