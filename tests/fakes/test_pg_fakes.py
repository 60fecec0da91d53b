"""Self-test of the PostgreSQL stand-ins: each reproduces the failure reference/postgres-failures.md
says the real thing produces, so the bot's diagnosis tests can trust them."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import pytest

from .pg import TempDatabase, reachable, run_sql
from .pgbouncer import PgBouncer
from .pgcluster import SecuredPostgres
from .pgwire import ErrorAnswer, ScramError, SilentServer, WireServer

PREPARED_ERRORS = (asyncpg.InvalidSQLStatementNameError, asyncpg.DuplicatePreparedStatementError)


async def burst(url: str, **connect: object) -> Counter[str]:
    """8 tasks over a pool of 4 connections, 20 tiny parameterised queries each (§3's burst);
    returns the errors seen, by class name."""
    errors: Counter[str] = Counter()
    pool = await asyncpg.create_pool(url, min_size=4, max_size=4, **connect)

    async def task() -> None:
        async with pool.acquire() as con:
            for i in range(20):
                try:
                    assert await con.fetchval("SELECT $1::int", i) == i
                except asyncpg.PostgresError as exc:
                    errors[type(exc).__name__] += 1

    try:
        await asyncio.gather(*(task() for _ in range(8)))
    finally:
        await pool.close()
    return errors


async def test_statement_cache_breaks_behind_transaction_pooler(pgbouncer: PgBouncer) -> None:
    url = pgbouncer.url("postgres", pgbouncer.password)
    seen: Counter[str] = Counter()
    for _ in range(5):  # one round is normally plenty; bounded in case scheduling is kind
        seen += await burst(url)
        if seen:
            break
    names = {cls.__name__ for cls in PREPARED_ERRORS}
    assert seen, "the default statement cache survived pgbouncer transaction mode"
    assert set(seen) <= names, seen


async def test_statement_cache_off_is_clean_behind_transaction_pooler(
    pgbouncer: PgBouncer,
) -> None:
    url = pgbouncer.url("postgres", pgbouncer.password)
    for _ in range(2):
        assert await burst(url, statement_cache_size=0) == Counter()


async def test_backend_pid_differs_only_through_pooler(pg_admin: str, pgbouncer: PgBouncer) -> None:
    for url, pooled in ((pgbouncer.url("postgres", pgbouncer.password), True), (pg_admin, False)):
        con = await asyncpg.connect(url, statement_cache_size=0, timeout=5)
        try:
            backend = await con.fetchval("SELECT pg_backend_pid()")
        finally:
            await con.close()
        assert (backend != con.get_server_pid()) is pooled, (url, backend, con.get_server_pid())


async def test_wrong_password_through_pgbouncer(pgbouncer: PgBouncer) -> None:
    url = pgbouncer.url("postgres", pgbouncer.password + "-wrong")
    with pytest.raises(asyncpg.ProtocolViolationError) as caught:
        await asyncpg.connect(url, timeout=5)
    assert caught.value.sqlstate == "08P01"
    assert str(caught.value) == "SASL authentication failed"


async def test_wrong_password_on_secured_cluster(secured_pg: SecuredPostgres) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError) as caught:
        await asyncpg.connect(secured_pg.url(password="wrong"), timeout=5)
    assert caught.value.sqlstate == "28P01"
    assert str(caught.value) == 'password authentication failed for user "postgres"'
    con = await asyncpg.connect(secured_pg.url(), timeout=5)
    try:
        assert await con.fetchval("SELECT 1") == 1
    finally:
        await con.close()


async def test_silent_server_times_out() -> None:
    async with SilentServer() as server:
        with pytest.raises(TimeoutError):
            await asyncpg.connect(server.url, timeout=0.5)
        assert server.accepted == 1


async def test_scram_e_answer_is_the_group_error() -> None:
    async with WireServer(ScramError()) as server:
        with pytest.raises(asyncpg.InternalClientError) as caught:
            await asyncpg.connect(server.url, timeout=2)
    assert str(caught.value) == (
        "unexpected error while performing authentication: "
        "'NoneType' object has no attribute 'group'"
    )
    assert isinstance(caught.value.__cause__, AttributeError)


@pytest.mark.parametrize(
    "text",
    [
        "Tenant or user not found",
        "(EMAXCONN) max client connections reached, limit: 200",
        "SSL connection is required for user: postgres.x",
    ],
)
async def test_supavisor_error_answers(text: str) -> None:
    async with WireServer(ErrorAnswer("XX000", text)) as server:
        with pytest.raises(asyncpg.InternalServerError) as caught:
            await asyncpg.connect(server.url, timeout=2)
    assert caught.value.sqlstate == "XX000"
    assert str(caught.value) == text


async def test_ssl_require_against_plaintext_server() -> None:
    async with WireServer(ErrorAnswer("XX000", "unused")) as server:
        with pytest.raises(ConnectionError, match="rejected SSL upgrade"):
            await asyncpg.connect(server.url, timeout=2, ssl="require")


def test_tempdb_roles_and_seed(tempdb: TempDatabase, pg_admin: str) -> None:
    reader = tempdb.role("reader", "s3cret@#pw")
    run_sql(tempdb.url, f'CREATE TABLE jobs (id int); GRANT SELECT ON jobs TO "{reader}"')
    assert reachable(tempdb.url_as(reader, "s3cret@#pw")) is None
    assert "@127.0.0.1:" in tempdb.url_as(reader, "s3cret@#pw")  # password quoted, host kept
