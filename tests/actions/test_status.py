"""`status` against the FM-030 stack: API healthy and worker failing, at a glance."""

from __future__ import annotations

import pytest

from bot.actions.registry import ActionContext
from bot.integrations.render import RenderError
from bot.results import StepResult, Table, Verdict
from bot.sandbox.fm030 import Stack
from bot.sandbox.render_api import FakeRender

from conftest import run


async def test_fm030_api_healthy_worker_failing(stack: ActionContext, fm030: Stack) -> None:
    result = await run(stack, "status production")
    assert isinstance(result, StepResult) and isinstance(result.details, Table)
    assert result.verdict is Verdict.FAIL
    worker, api = result.summary.split("; api ")
    assert worker.startswith("worker failing: deploy update_failed ")
    assert "the process exited with code 1" in worker
    assert "crashed 6 times in the last hour" in worker
    assert api.startswith("healthy (HTTP 200 in ")
    facts = dict(result.facts)
    assert facts["api"].startswith("ok: running, deploy live")
    assert facts["worker"].startswith("FAIL: deploy update_failed")
    assert any("`logs worker production --level error`" in hint for hint in result.hints)


async def test_default_environment_and_all_healthy(stack: ActionContext) -> None:
    result = await run(stack, "status staging")
    assert result.verdict is Verdict.OK
    assert result.title == "Status of staging"
    assert (await run(stack, "status")).title == "Status of production"


async def test_health_failures_are_named(
    stack: ActionContext, render: FakeRender, fm030: Stack
) -> None:
    render.set_health("api-service-staging", 503)
    result = await run(stack, "status staging")
    assert result.verdict is Verdict.FAIL
    assert "api failing: health check: HTTP 503 in " in result.summary
    stack.health.timeout = 0.3
    render.set_health("api-service-staging", 200, delay=2)
    slow = await run(stack, "status staging")
    assert "health check: no answer within 0.3 s" in slow.summary


async def test_a_suspended_service_warns_and_says_by_whom(
    stack: ActionContext, render: FakeRender, fm030: Stack
) -> None:
    render.suspend(fm030.services["upload-worker-staging"]["id"], "user")
    result = await run(stack, "status staging")
    assert result.verdict is Verdict.WARN
    assert "worker needs a look: suspended (by user)" in result.summary
    rows = {row[0]: row for row in result.details.rows}
    assert rows["worker"][3] == "suspended" and rows["worker"][5] == "0"


async def test_one_service_render_cannot_answer_for_does_not_hide_the_others(
    stack: ActionContext, render: FakeRender
) -> None:
    render.fail_next(404, "not found: upload-worker-staging")
    result = await run(stack, "status staging")
    verdicts = {row[0]: row[2] for row in result.details.rows}
    assert sorted(verdicts.values()) == ["error", "ok"]
    assert result.verdict is Verdict.ERROR
    assert "not found: upload-worker-staging" in result.summary
    assert result.hints == ()  # "read the crash logs" would be wrong advice here


async def test_without_a_render_key_it_says_so_once(ctx: ActionContext) -> None:
    with pytest.raises(RenderError, match="RENDER_API_KEY is not set") as refused:
        await run(ctx, "status production")
    assert "Account Settings > API Keys" in refused.value.hint
