"""`deploys`: the latest deploys, and why the last one failed."""

from __future__ import annotations

import pytest

from bot.actions.registry import ActionContext
from bot.errors import UsageError
from bot.results import StepResult, Table, Verdict
from bot.sandbox.fm030 import Stack

from conftest import run


async def test_a_failed_latest_deploy_fails_with_its_reason(
    stack: ActionContext, fm030: Stack
) -> None:
    result = await run(stack, "deploys worker production")
    assert isinstance(result, StepResult) and isinstance(result.details, Table)
    assert result.verdict is Verdict.FAIL
    failed = fm030.failed_deploy
    assert result.summary.startswith("Latest: update_failed ")
    assert result.summary.endswith(": the process exited with code 1")
    first = result.details.rows[0]
    assert first[0] == failed["id"] and first[1] == "update_failed"
    assert first[5].startswith(failed["commit"]["id"][:7])
    assert len(result.details.rows) == len(fm030.deploys["upload-worker-production"])
    assert dict(result.facts)["last good before it"].startswith("deactivated ")
    assert result.hints == (
        "It crashes on start: `logs worker production --level error` shows why.",
    )


async def test_a_live_deploy_is_ok(stack: ActionContext) -> None:
    result = await run(stack, "deploys api")
    assert result.verdict is Verdict.OK
    assert result.title == "Deploys of api (production)"
    assert result.summary.startswith("Latest: live ")
    assert all(row[4] != "-" for row in result.details.rows)  # every finished deploy has a duration


async def test_a_render_name_from_the_catalog_names_service_and_environment(
    stack: ActionContext,
) -> None:
    result = await run(stack, "deploys upload-worker-staging")
    assert result.title == "Deploys of worker (staging)"
    with pytest.raises(UsageError, match="is worker in staging, not in production"):
        await run(stack, "deploys upload-worker-staging production")
