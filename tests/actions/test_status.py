"""`status` against the FM-030 stack: API healthy and worker failing, at a glance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.actions.registry import ActionContext
from bot.integrations.render import RenderError
from bot.results import StepResult, Table, Verdict
from bot.sandbox.fm030 import Stack
from bot.sandbox.render_api import FakeRender

from conftest import run


def rows(result: StepResult) -> dict[str, dict[str, str]]:
    """The table, a row per service, keyed by column."""
    assert isinstance(result.details, Table)
    columns = result.details.columns
    return {row[0]: dict(zip(columns, row, strict=True)) for row in result.details.rows}


def crash(render: FakeRender, service_id: str, minutes_ago: float) -> None:
    details = {"instanceID": render.instance_ids(service_id)[0], "reason": {"nonZeroExit": 1}}
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    render.add_event(service_id, "server_failed", details, timestamp=at)


async def test_fm030_api_healthy_worker_failing(stack: ActionContext, fm030: Stack) -> None:
    result = await run(stack, "status production")
    assert isinstance(result, StepResult) and isinstance(result.details, Table)
    assert result.verdict is Verdict.FAIL
    worker, api = result.summary.split("; api ")
    assert worker.startswith("worker failing: deploy update_failed ")
    assert "the process exited with code 1" in worker
    assert api.startswith("healthy (HTTP 200 in ")
    assert any("`logs worker production --level error`" in hint for hint in result.hints)


async def test_the_crash_count_says_it_is_renders_count_of_server_failed_events(
    stack: ActionContext, fm030: Stack
) -> None:
    """`logs` counts the error in the log (30 tracebacks); `status` counts what Render
    recorded (6 server_failed events): the words say which is which."""
    result = await run(stack, "status production")
    assert "Render recorded 6 crashes (server_failed) in the last hour" in result.summary
    assert result.data["services"]["worker"]["crashes_last_hour"] == 6


async def test_a_crash_looping_worker_is_called_crash_looping_not_running(
    stack: ActionContext, fm030: Stack
) -> None:
    result = await run(stack, "status production")
    assert rows(result)["worker"]["state"] == "crash-looping"
    assert rows(result)["api"]["state"] == "running"
    assert "crash-looping: Render recorded 6 crashes" in result.summary
    assert result.data["services"]["worker"]["state"] == "crash-looping"


async def test_one_crash_a_failed_deploy_and_a_failing_health_check_each_have_their_word(
    stack: ActionContext, render: FakeRender, fm030: Stack
) -> None:
    worker = fm030.services["upload-worker-staging"]["id"]
    crash(render, worker, minutes_ago=5)
    crash(render, worker, minutes_ago=90)  # outside the hour: not counted
    render.set_health("api-service-staging", 503)
    once = await run(stack, "status staging")
    assert {name: row["state"] for name, row in rows(once).items()} == {
        "worker": "crashed",
        "api": "unhealthy",
    }
    assert "worker failing: Render recorded 1 crash (server_failed) in the last hour" in (
        once.summary
    )
    render.set_health("api-service-staging", 200)
    api = fm030.services["api-service-staging"]["id"]
    render.add_deploy(api, "build_failed", created_at=datetime.now(UTC) - timedelta(minutes=3))
    failed = await run(stack, "status staging")
    assert rows(failed)["api"]["state"] == "deploy failed"
    assert "api failing: deploy build_failed " in failed.summary


async def test_each_fact_is_said_once_summary_then_one_table(
    stack: ActionContext, fm030: Stack
) -> None:
    result = await run(stack, "status production")
    assert result.facts == ()  # no grid repeating the summary
    cells = [cell for row in result.details.rows for cell in row]
    shown = [result.summary, *cells]
    for fact in ("the process exited with code 1", "Encrypt documents at rest", "6 crashes"):
        assert sum(text.count(fact) for text in shown) == 1, fact
    assert [row[0] for row in result.details.rows] == ["worker", "api"]  # the failing first


async def test_the_json_data_keeps_every_fact(stack: ActionContext, fm030: Stack) -> None:
    result = await run(stack, "status production")
    worker = result.data["services"]["worker"]
    failed = fm030.failed_deploy
    assert worker["verdict"] == "fail" and worker["instances"] == "1"
    assert worker["render"] == {
        "name": "upload-worker-production",
        "id": fm030.services["upload-worker-production"]["id"],
    }
    assert worker["latest_deploy"]["id"] == failed["id"]
    assert worker["latest_deploy"]["status"] == "update_failed"
    assert "Encrypt documents at rest" in worker["latest_deploy"]["line"]
    assert worker["problems"][0].endswith("the process exited with code 1")
    assert worker["summary"] == result.findings[0].summary
    assert result.data["services"]["api"]["health"].startswith("HTTP 200 in ")


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
    assert rows(result)["worker"]["state"] == "suspended"
    assert result.data["services"]["worker"]["instances"] == "0"


async def test_one_service_render_cannot_answer_for_does_not_hide_the_others(
    stack: ActionContext, render: FakeRender
) -> None:
    render.fail_next(404, "not found: upload-worker-staging")
    result = await run(stack, "status staging")
    verdicts = {name: s["verdict"] for name, s in result.data["services"].items()}
    assert sorted(verdicts.values()) == ["error", "ok"]
    assert sorted(row["state"] for row in rows(result).values()) == ["running", "unknown"]
    assert result.verdict is Verdict.ERROR
    assert "not found: upload-worker-staging" in result.summary
    assert result.hints == ()  # "read the crash logs" would be wrong advice here


async def test_without_a_render_key_it_says_so_once(ctx: ActionContext) -> None:
    with pytest.raises(RenderError, match="RENDER_API_KEY is not set") as refused:
        await run(ctx, "status production")
    assert "Account Settings > API Keys" in refused.value.hint
