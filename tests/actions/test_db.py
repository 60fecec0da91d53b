"""`db`: every failure of reference §4 reproduced against a real server, pooler or wire stand-in,
and answered with one line naming the cause and the fix. Passwords never show."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote, urlsplit

import pytest

from bot.actions.all import ACTIONS
from bot.actions.registry import ActionContext
from bot.config import load_catalog
from bot.errors import FracasError
from bot.integrations.postgres.resolver import Resolver
from bot.results import Verdict
from bot.sandbox.fm030 import Stack
from bot.sandbox.render_api import FakeRender

from conftest import EXAMPLE, db_context, everything_shown, run
from fakes.pg import TempDatabase, run_sql
from fakes.pgbouncer import PgBouncer, free_port
from fakes.pgcluster import SecuredPostgres
from fakes.pgwire import ErrorAnswer, ScramError, SilentServer, WireServer

WRONG = "Wr0ng-Passw0rd-xyz"


async def probe(url: str, *, hosts: dict[str, list[str]] | None = None, extra: str = ""):
    ctx = db_context(url, hosts)
    result = await run(ctx, f"db production {extra}".strip())
    shown = everything_shown(result)
    return result, shown


def stage(result, name: str) -> tuple[str, ...]:
    rows = {row[0]: row for row in result.details.rows}
    return rows[name]


async def test_a_healthy_database_reports_every_stage_with_its_time(tempdb: TempDatabase) -> None:
    result, _ = await probe(tempdb.url)
    assert result.verdict is Verdict.OK
    assert result.summary.startswith("Reachable: PostgreSQL 1")
    assert "direct to PostgreSQL" in result.summary
    names = [row[0] for row in result.details.rows]
    assert names == ["url", "dns", "tcp", "tls", "login", "query", "server", "latency", "pooler"]
    assert all(row[2] != "-" for row in result.details.rows if row[0] in ("tcp", "login"))
    assert f"database {tempdb.name}" in stage(result, "server")[3]
    shown_url = dict(result.facts)["url"]  # the host and database stay readable
    assert f"@{urlsplit(tempdb.url).hostname}:" in shown_url and tempdb.name in shown_url


async def test_the_dns_stage_lists_ipv4_and_ipv6_apart(tempdb: TempDatabase) -> None:
    result, _ = await probe(
        tempdb.url.replace("127.0.0.1", "db.internal.example"),
        hosts={"db.internal.example": ["127.0.0.1"]},
    )
    assert result.verdict is Verdict.OK
    assert stage(result, "dns")[3] == "A 127.0.0.1; AAAA none"


async def test_an_ipv6_only_direct_host_is_the_cause_even_when_this_network_reaches_it() -> None:
    url = "postgresql://postgres:S3cretPassw0rd@db.abcdefghij.supabase.co:5432/postgres"
    result, shown = await probe(
        url, hosts={"db.abcdefghij.supabase.co": ["::1"]}, extra="--timeout 1s"
    )
    assert result.verdict is Verdict.FAIL
    assert result.summary.startswith(
        "The database host db.abcdefghij.supabase.co has only an IPv6 address, and Render has "
        "no outbound IPv6."
    )
    assert "Supavisor pooler URL" in result.summary
    assert "IPv6 only, Render cannot reach it" in stage(result, "dns")[3]
    assert "S3cretPassw0rd" not in shown


async def test_an_unroutable_ipv6_address_fails_its_tcp_stage_quickly() -> None:
    url = "postgresql://postgres:pw@db.abcdefghij.supabase.co:5432/postgres"
    hosts = {"db.abcdefghij.supabase.co": ["2001:db8::1"]}
    result, _ = await probe(url, hosts=hosts, extra="--timeout 500ms")
    assert result.verdict is Verdict.FAIL and "only an IPv6 address" in result.summary
    assert stage(result, "tcp")[1] == "fail"


async def test_a_direct_host_that_does_not_resolve_is_still_named_as_ipv6_only() -> None:
    url = "postgresql://postgres:pw@db.zzzzzzzzzzzzzzzzzzzz.supabase.co:5432/postgres"
    result, _ = await probe(url, hosts={"db.zzzzzzzzzzzzzzzzzzzz.supabase.co": []})
    assert "only an IPv6 address" in result.summary


async def test_an_unknown_host_is_a_dns_failure() -> None:
    result, _ = await probe("postgresql://u:pw@no-such-host.invalid:5432/db")
    assert result.verdict is Verdict.FAIL
    assert result.summary.startswith("The host no-such-host.invalid does not resolve")
    assert "typos" in result.summary


async def test_a_closed_port_is_refused() -> None:
    result, _ = await probe(f"postgresql://u:pw@127.0.0.1:{free_port()}/db")
    assert "Nothing listens on 127.0.0.1:" in result.summary and "Check the port" in result.summary
    assert stage(result, "tcp")[1] == "fail"


async def test_a_listener_that_never_answers_fails_within_the_timeout() -> None:
    async with SilentServer() as silent:
        result, _ = await probe(silent.url, extra="--timeout 300ms")
    assert result.verdict is Verdict.FAIL
    assert (
        "accepted the connection but did not answer the PostgreSQL startup request within 0.3 s"
        in result.summary
    )
    assert float(stage(result, "tls")[2]) < 1000


async def test_a_wrong_password_on_a_server_that_checks_it(secured_pg: SecuredPostgres) -> None:
    result, shown = await probe(secured_pg.url(password=WRONG))
    assert result.summary.startswith("Wrong password for user postgres.")
    assert stage(result, "login")[1] == "fail" and WRONG not in shown


async def test_the_right_password_logs_in(secured_pg: SecuredPostgres) -> None:
    result, shown = await probe(secured_pg.url())
    assert result.verdict is Verdict.OK and secured_pg.password not in shown


async def test_a_wrong_password_through_pgbouncer(pgbouncer: PgBouncer) -> None:
    result, shown = await probe(pgbouncer.url("postgres", WRONG, "postgres"))
    assert result.summary.startswith("PgBouncer rejected the login: wrong password")
    assert WRONG not in shown


async def test_pgbouncer_is_detected_as_a_pooler(
    pgbouncer: PgBouncer, tempdb: TempDatabase
) -> None:
    result, shown = await probe(pgbouncer.url("postgres", pgbouncer.password, tempdb.name))
    assert result.verdict is Verdict.OK
    assert "a pooler (PgBouncer-like)" in result.summary
    detail = stage(result, "pooler")[3]
    assert "is not the backend's" in detail and f"we dialled {pgbouncer.port}" in detail
    assert any("statement_cache_size=0" in h for h in result.hints)
    assert pgbouncer.password not in shown


async def test_requiring_ssl_from_a_pooler_without_tls(pgbouncer: PgBouncer) -> None:
    url = pgbouncer.url("postgres", pgbouncer.password, "postgres") + "?sslmode=require"
    result, _ = await probe(url)
    assert result.summary.startswith("The URL requires SSL but 127.0.0.1:")
    assert stage(result, "tls")[1] == "fail"


async def test_an_unknown_database(tempdb: TempDatabase) -> None:
    result, _ = await probe(tempdb.url_as("postgres", database="no_such_db"))
    assert result.summary.startswith("The database no_such_db does not exist on this server.")


async def test_a_role_out_of_connection_slots(tempdb: TempDatabase) -> None:
    role = tempdb.role("fracas_full")
    run_sql(tempdb.admin, f'ALTER ROLE "{role}" CONNECTION LIMIT 0')
    result, _ = await probe(tempdb.url_as(role))
    assert result.summary.startswith("The server has no connection slot left")


async def test_supavisor_scram_wrong_password_is_named_not_shown_as_a_nonetype() -> None:
    async with WireServer(ScramError("Wrong password")) as pooler:
        result, shown = await probe(pooler.url)
    assert result.summary.startswith("The pooler rejected the credentials during SCRAM")
    assert "postgres.<project-ref>" in result.summary
    assert pooler.password not in shown


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        ("Tenant or user not found", "The pooler does not know this user or project."),
        (
            "(EMAXCONN) max client connections reached, limit: 200",
            "The pooler's client connection limit is reached.",
        ),
        (
            "(EMAXCONNSESSION) max clients reached in session mode - max clients are limited "
            "to pool_size: 15",
            "The session pooler is full",
        ),
        ("SSL connection is required for user: postgres.x", "The server requires SSL"),
    ],
)
async def test_supavisor_errors_are_told_apart_by_their_words(message: str, cause: str) -> None:
    async with WireServer(ErrorAnswer("XX000", message)) as pooler:
        result, _ = await probe(pooler.url)
    assert result.summary.startswith(cause)


@pytest.mark.parametrize(
    ("password", "char"),
    [("S3cret#pw", "'#'"), ("S3cret@pw", "'@'"), ("S3c/ret", "'/'")],
)
async def test_unencoded_characters_in_the_password_are_named_without_the_password(
    password: str, char: str
) -> None:
    result, shown = await probe(f"postgresql://postgres:{password}@127.0.0.1:5432/postgres")
    assert f"The password in DATABASE_URL has an unencoded {char}" in result.summary
    assert "quote(password, safe='')" in result.summary
    assert [row[0] for row in result.details.rows] == ["url"]
    assert password not in shown


async def test_an_encoded_password_passes_the_url_stage(secured_pg: SecuredPostgres) -> None:
    result, _ = await probe(
        secured_pg.url(password="S3cret#pw").replace(quote("S3cret#pw", safe=""), "S3cret%23pw")
    )
    assert stage(result, "url")[1] == "ok"


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://u:p@h/db", "does not start with postgresql://"),
        ("postgresql://u:p@h:port/db", "port is not a number"),
        ("postgresql:///db", "has no host"),
        ("postgresql://u:p@h/db?sslmode", "query string"),
    ],
)
async def test_malformed_urls_are_named(url: str, said: str) -> None:
    result, _ = await probe(url)
    assert result.verdict is Verdict.FAIL and said in result.summary


async def test_service_probes_the_url_the_worker_really_runs_with(
    stack: ActionContext, fm030: Stack
) -> None:
    """FM-030: the production worker's DATABASE_URL is the IPv6-only direct host."""
    host = f"db.{fm030.refs['production']}.supabase.co"
    ctx = dataclasses.replace(stack, resolver=Resolver({host: ["2001:db8::1"]}))
    result = await run(ctx, "db production --service worker --timeout 500ms")
    assert result.title == ("Database: DATABASE_URL of worker (production)")
    assert result.summary.startswith(f"The database host {host} has only an IPv6 address")
    assert host in dict(result.facts)["url"]
    shown = everything_shown(result)
    assert not [label for label, value in fm030.secrets.items() if value in shown]


async def test_service_url_that_works(
    stack: ActionContext, fm030: Stack, render: FakeRender, tempdb: TempDatabase
) -> None:
    password = "Staging-Only-S3cret-Pw"
    url = tempdb.url_as("postgres", password)
    render.set_env(fm030.services["upload-worker-staging"]["id"], {"DATABASE_URL": url})
    result = await run(stack, "db staging --service worker")
    assert result.verdict is Verdict.OK
    assert password not in everything_shown(result)


async def test_a_service_without_database_url_is_named(
    stack: ActionContext, fm030: Stack, render: FakeRender
) -> None:
    render.set_env(fm030.services["upload-worker-staging"]["id"], {"PORT": "10000"})
    with pytest.raises(FracasError, match="DATABASE_URL is not set on worker \\(staging\\)"):
        await run(stack, "db staging --service worker")


async def test_sqlalchemy_style_urls_are_read_as_plain(tempdb: TempDatabase) -> None:
    result, _ = await probe(tempdb.url.replace("postgresql://", "postgresql+asyncpg://"))
    assert result.verdict is Verdict.OK
    assert any("SQLAlchemy's form" in hint for hint in result.hints)


async def test_an_unset_catalog_url_names_its_variable(catalog_without_urls: ActionContext) -> None:
    with pytest.raises(FracasError) as caught:
        await run(catalog_without_urls, "db production")
    assert "${PRODUCTION_DATABASE_URL} is not set" in caught.value.message
    assert "--service worker" in caught.value.hint


@pytest.fixture
def catalog_without_urls() -> ActionContext:
    return ActionContext(load_catalog(EXAMPLE, {}), ACTIONS)
