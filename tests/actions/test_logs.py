"""`logs` against the FM-030 stack: the Errno 101 crash on top, named, the leak masked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.actions.registry import ActionContext
from bot.results import StepResult, Table, Verdict
from bot.sandbox.fm030 import Stack
from bot.sandbox.render_api import FakeRender

from conftest import everything_shown, run


async def test_fm030_puts_errno_101_on_top_with_its_diagnosis(
    stack: ActionContext, render: FakeRender, fm030: Stack
) -> None:
    result = await run(stack, "logs worker production")
    assert isinstance(result, StepResult) and isinstance(result.details, Table)
    assert result.verdict is Verdict.FAIL
    assert result.summary.startswith(
        "network unreachable (errno 101): an IPv6-only database host: logged 30 times in 1h, "
        "every ~2m"
    )
    top = result.details.rows[0]
    assert top[6] == "OSError: [Errno 101] Network is unreachable"
    assert top[0] == "30" and top[1] == "error"  # one folded traceback per 2-minute crash
    assert "·" not in top[4] and top[5] == "every ~2m"  # the crash loop's rhythm
    assert any("Supavisor pooler" in hint for hint in result.hints)
    patterns = [row[6] for row in result.details.rows]
    assert "CONFIGURATION_ERROR_FATAL threshold exceeded" in patterns
    assert not any(p.startswith(("Traceback", "  File")) for p in patterns)  # folded


async def test_the_whole_window_is_attached_and_the_leaked_url_masked(
    stack: ActionContext, fm030: Stack
) -> None:
    result = await run(stack, "logs worker production")
    (window,) = result.attachments
    assert window.name == "logs-worker-production.txt"
    assert "Traceback (most recent call last):" in window.text
    assert "Loaded settings: DATABASE_URL=postgresql://postgres:[secret " in window.text
    shown = everything_shown(result)
    for label, secret in fm030.secrets.items():
        assert secret not in shown, f"{label} leaked"


async def test_pages_are_read_once_each_and_the_limit_is_honest(
    stack: ActionContext, render: FakeRender, fm030: Stack
) -> None:
    before = render.calls("/v1/logs")
    result = await run(stack, "logs api production --limit 150")
    assert render.calls("/v1/logs") - before == 2  # 100 + 50
    facts = dict(result.facts)
    assert facts["lines read"].startswith("150 (the --limit; they reach back ")
    whole = await run(stack, "logs api production")
    assert render.calls("/v1/logs") - before == 2 + 3  # 246 lines: 100 + 100 + 46, then done
    assert dict(whole.facts)["lines read"] == "246"
    assert any("raise --limit" in hint for hint in result.hints)


async def test_filters_keep_level_and_text_tracebacks_included(stack: ActionContext) -> None:
    result = await run(stack, "logs worker production --grep connect_utils")
    rows = result.details.rows
    assert [r[6] for r in rows] == ["OSError: [Errno 101] Network is unreachable"]
    warnings = await run(stack, "logs api production --level warning")
    assert warnings.verdict is Verdict.OK
    assert {r[1] for r in warnings.details.rows} == {"warning"}
    assert "(level ≥ warning)" in dict(warnings.facts)["events kept"]


async def test_a_healthy_service_is_ok(stack: ActionContext) -> None:
    result = await run(stack, "logs worker staging --since 30m")
    assert result.verdict is Verdict.OK
    assert result.summary.startswith("No errors in 30m")
    assert result.title == "Logs of worker (staging), last 30m"


async def test_known_failures_are_named(
    stack: ActionContext, render: FakeRender, fm030: Stack
) -> None:
    api = fm030.services["api-service-staging"]["id"]
    now = datetime.now(UTC)
    lines = [
        "asyncpg.exceptions._base.InternalClientError: unexpected error while performing "
        "authentication: 'NoneType' object has no attribute 'group'",
        "asyncpg.exceptions.UndefinedTableError: "
        'relation "upload_pipeline.upload_jobs" does not exist',
        "asyncpg.exceptions.DuplicatePreparedStatementError: "
        'prepared statement "__asyncpg_stmt_1__" already exists',
        "==> Port scan timeout reached, no open ports detected. Bind your service to one port.",
        "==> Timed Out",
    ]
    for i, message in enumerate(lines):
        render.add_log(api, message, timestamp=now - timedelta(minutes=5, seconds=i), level="info")
    result = await run(stack, "logs api staging --level error")
    named = {row[6][:30]: row for row in result.details.rows}
    assert len(named) == 5
    names = {d["diagnosis"] for d in result.data["clusters"]}
    assert names == {
        "the pooler rejected the credentials during SCRAM",
        "a table is missing",
        "prepared statements through a transaction-mode pooler",
        "Render found no open port",
        "the deploy timed out",
    }


async def test_no_lines_in_the_window(stack: ActionContext, render: FakeRender) -> None:
    render.add_service("quiet-service", "background_worker", id="srv-quiet0000000000000000")
    result = await run(stack, "logs srv-quiet0000000000000000")
    assert result.verdict is Verdict.OK
    assert result.summary == "No log lines matched in the last 1h."


LEAKY_LINES = [
    "Connecting to database postgresql://postgres.ref:{pw}@aws-0-us-east-1.pooler.supabase.com:"
    "6543/postgres via sqlalchemy.dialects.postgresql.asyncpg",
    "retrying with password=84736251 and PGPASSWORD=84736251",
    '{{"password":"84736251","DB_PASS":"{pw}"}}',
    "mysql -uroot -p{pw} -h db; psql --password {pw}",
    "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
    "BASIC_AUTH=admin:{pw} NEW_RELIC_LICENSE_KEY={pw} SENTRY_DSN=https://{pw}@o1.sentry.io/1",
    "twilio SK2b4cc552783500ace5414a1ed3e9fd1a mailgun key-46cebd38c59ac222e6cf991581411eaf",
]


async def test_a_weak_learned_password_leaks_nothing_through_logs(
    stack: ActionContext, render: FakeRender, fm030: Stack
) -> None:
    """issue 11: the staging password `postgres` learned first (envdiff, the catalog) must not
    break the shapes that mask production's password, in the result, the window or JSON."""
    pw = "Zq84mVt3Ww19"
    stack.redactor.learn("postgresql://postgres:postgres@db.staging.example.com:5432/postgres")
    worker = fm030.services["upload-worker-production"]["id"]
    now = datetime.now(UTC)
    lines = [line.format(pw=pw) for line in LEAKY_LINES]
    render.add_logs(worker, [(now - timedelta(seconds=i), "error", t) for i, t in enumerate(lines)])
    shown = everything_shown(await run(stack, "logs worker production"))
    for secret in (pw, "84736251", "YWxhZGRp", "SK2b4cc5", "key-46ce"):
        assert secret not in shown
    assert "sqlalchemy.dialects.postgresql.asyncpg" in shown
