"""`envdiff` against the FM-030 stack: the three missing variables and the direct host, named,
without one secret value shown."""

from __future__ import annotations

import pytest

from bot.actions.registry import ActionContext
from bot.errors import UsageError
from bot.present.slack import render_post
from bot.present.terminal import render
from bot.results import StepResult, Table, Verdict, to_json
from bot.sandbox.fm030 import MISSING_ON_PRODUCTION_WORKER, Stack
from bot.sandbox.render_api import FakeRender

from conftest import everything_shown, run


async def test_fm030_names_the_missing_variables_and_the_direct_host(
    stack: ActionContext, fm030: Stack
) -> None:
    result = await run(stack, "envdiff worker")
    assert isinstance(result, StepResult)
    assert result.verdict is Verdict.FAIL
    assert result.title == "Variables of worker: staging vs production"
    for key in MISSING_ON_PRODUCTION_WORKER:
        assert key in result.summary
    assert "production lacks 3 required variables" in result.summary
    assert f"db.{fm030.refs['production']}.supabase.co" in result.summary
    assert "IPv6" in result.summary
    assert any("pooler" in hint for hint in result.hints)
    shown = everything_shown(result)
    for label, secret in fm030.secrets.items():
        assert secret not in shown, f"{label} leaked"


async def test_buckets_and_url_parts(stack: ActionContext, fm030: Stack) -> None:
    result = await run(stack, "envdiff worker staging production")
    assert isinstance(result.details, Table)
    rows = {row[0]: row for row in result.details.rows}
    assert rows["SENTRY_DSN"][3] == "only in staging"
    assert rows["NEW_RELIC_APP_NAME"][3] == "only in production"
    assert rows["WORKER_CONCURRENCY"][1:3] == ("2", "4")  # not secret: shown in clear
    database = rows["DATABASE_URL"]
    assert "host aws-0-us-east-1.pooler.supabase.com → db." in database[3]
    assert "port 6543 → 5432" in database[3] and "password differs" in database[3]
    assert database[2].startswith("postgresql://postgres:[secret ")  # host kept, password masked
    assert rows["OPENAI_API_KEY"][1].startswith("[secret ") and rows["OPENAI_API_KEY"][3] == (
        "differs (secret)"
    )
    assert dict(result.facts)["same"] == "2"  # PYTHON_VERSION, LOG_LEVEL


async def test_equal_secrets_have_equal_fingerprints(
    stack: ActionContext, render: FakeRender, fm030: Stack
) -> None:
    worker = fm030.services["upload-worker-staging"]["id"]
    api = fm030.services["api-service-staging"]["id"]
    result = await run(stack, f"envdiff {worker} {api}")
    assert result.title == f"Variables of {worker}: upload-worker-staging vs api-service-staging"
    rows = {row[0]: row for row in result.details.rows}
    assert "SUPABASE_SERVICE_ROLE_KEY" not in rows  # same value on both: counted as same
    assert rows["PORT"][3] == "only in api-service-staging"


async def test_one_environment_is_compared_with_the_other(stack: ActionContext) -> None:
    result = await run(stack, "envdiff api production")
    assert result.title == "Variables of api: staging vs production"


async def test_the_supabase_projects_must_agree(
    stack: ActionContext, render: FakeRender, fm030: Stack
) -> None:
    api = fm030.services["api-service-production"]["id"]
    staging_vars = dict(await stack.render.env_vars(fm030.services["api-service-staging"]["id"]))
    render.set_env(
        api, {**staging_vars, "SUPABASE_URL": f"https://{fm030.refs['production']}.supabase.co"}
    )
    result = await run(stack, "envdiff api")
    assert result.verdict is Verdict.FAIL
    assert (
        f"production DATABASE_URL is Supabase project {fm030.refs['staging']} but SUPABASE_URL "
        f"is project {fm030.refs['production']}"
    ) in result.summary
    assert "production points at the same Supabase project as staging" in result.summary


async def test_port_rules_for_web_services(
    stack: ActionContext, render: FakeRender, fm030: Stack
) -> None:
    api = fm030.services["api-service-production"]["id"]
    variables = dict(await stack.render.env_vars(api))
    render.set_env(api, {**variables, "PORT": "8000"})
    result = await run(stack, "envdiff api")
    assert result.verdict is Verdict.WARN
    findings = {f["message"] for f in result.data["findings"]}
    assert "PORT differs: staging 10000, production 8000" in findings
    assert "production: Render detected port 10000 but PORT is 8000" in findings
    assert "staging DATABASE_URL uses the transaction pooler (port 6543)" in " ".join(result.hints)


async def test_same_variables_pass(stack: ActionContext, render: FakeRender, fm030: Stack) -> None:
    staging = dict(await stack.render.env_vars(fm030.services["api-service-staging"]["id"]))
    render.set_env(fm030.services["api-service-production"]["id"], staging)
    result = await run(stack, "envdiff api")
    assert result.verdict is Verdict.FAIL  # one project for both is itself a finding
    assert "same Supabase project" in result.summary


async def test_usage_errors(stack: ActionContext, fm030: Stack) -> None:
    worker = fm030.services["upload-worker-staging"]["id"]
    with pytest.raises(UsageError, match="nothing to compare"):
        await run(stack, "envdiff worker production production")
    with pytest.raises(UsageError, match="no environments to compare"):
        await run(stack, f"envdiff {worker}")
    with pytest.raises(UsageError, match="unknown environment 'prod'"):
        await run(stack, "envdiff worker prod")


async def test_rendered_everywhere_without_a_secret(stack: ActionContext, fm030: Stack) -> None:
    result = await run(stack, "envdiff worker")
    post = render_post(result, "origin")
    texts = [post.main.text, *(str(m.blocks) for m in (post.main, *post.thread))]
    texts += [f.text for f in post.files] + [to_json(result), str(render(result))]
    for secret in fm030.secrets.values():
        assert all(secret not in text for text in texts)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres.ref:Qx7/kL9wP2@aws-0-us-east-1.pooler.supabase.com:6543/postgres",
        "postgresql://postgres.ref:Qx7 kL9 wP2@aws-0-us-east-1.pooler.supabase.com:6543/postgres",
        "postgresql:postgres.ref:Qx7kL9wP2@aws-0-us-east-1.pooler.supabase.com:6543/postgres",
        "postgresql://postgres.ref:Qx7@kL9/wP2@aws-0-us-east-1.pooler.supabase.com:6543/postgres",
    ],
)
async def test_a_misconfigured_database_url_never_shows_its_password(
    stack: ActionContext, render: FakeRender, fm030: Stack, url: str
) -> None:
    """The misconfigurations the bot exists to diagnose: an unencoded `/`, a space, no `//`."""
    worker = fm030.services["upload-worker-production"]["id"]
    variables = dict(await stack.render.env_vars(worker))
    render.set_env(worker, {**variables, "DATABASE_URL": url})
    shown = everything_shown(await run(stack, "envdiff worker"))
    for piece in ("Qx7", "kL9", "wP2"):
        assert piece not in shown, shown


async def test_only_database_urls_are_compared_by_parts(stack: ActionContext) -> None:
    """SUPABASE_URL is an https URL: it differs, and no DATABASE_URL check speaks about it."""
    result = await run(stack, "envdiff api staging production")
    rows = {row[0]: row for row in result.details.rows}
    assert rows["SUPABASE_URL"][3] in ("differs", "differs (secret)")
    assert "DATABASE_URL" not in rows["SUPABASE_URL"][3]


async def test_a_direct_host_against_a_service_without_a_database_is_named(
    stack: ActionContext, render: FakeRender
) -> None:
    """The comparison of the two URLs needs two URLs: with one, the direct host alone is the
    finding (this crashed with a TypeError while the text was built before the check)."""
    direct = "postgresql://postgres:pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres"
    one = render.add_service("direct-one", "background_worker", env_vars={"DATABASE_URL": direct})
    none = render.add_service("no-database", "background_worker", env_vars={"LOG_LEVEL": "info"})
    result = await run(stack, f"envdiff {one['id']} {none['id']}")
    assert result.verdict is Verdict.FAIL
    assert "direct host db.abcdefghijklmnopqrst.supabase.co" in result.summary
    assert " like " not in result.summary
