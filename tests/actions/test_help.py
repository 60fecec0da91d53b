"""`help`: generated from the registered actions, honest about what is not built yet."""

from __future__ import annotations

import pytest

from bot.actions.all import ACTIONS
from bot.actions.registry import ActionContext
from bot.config import Catalog
from bot.core import perform, understand
from bot.errors import UsageError
from bot.results import Table, Verdict


async def test_overview_lists_every_command(ctx: ActionContext) -> None:
    result = await perform(understand("help", ctx), ctx)
    assert result.verdict is Verdict.INFO
    assert isinstance(result.details, Table)
    rows = {row[0].split(" ")[0]: row for row in result.details.rows}
    assert len(result.details.rows) == len(ctx.actions)
    assert rows["report"][1] == "Write the FRACAS report from the incident's timeline."
    assert f"{len(ctx.actions)} commands." in result.summary


async def test_one_command_in_detail(ctx: ActionContext) -> None:
    result = await perform(understand("help stuck", ctx), ctx)
    text = "\n".join(result.detail_lines())
    assert text.startswith("stuck <env> [--older-than DURATION] [--service SERVICE]")
    assert "--older-than" in text
    result = await perform(understand("help note", ctx), ctx)
    assert "`cause:`, `action:`, `prevent:`" in "\n".join(result.detail_lines())
    result = await perform(understand("help run", ctx), ctx)
    assert result.detail_lines()[0] == "run <runbook> [env] [parameters...]"


async def test_a_group_shows_its_commands(ctx: ActionContext) -> None:
    result = await perform(understand("help incident", ctx), ctx)
    text = "\n".join(result.detail_lines())
    assert "incident open <title...>" in text and "incident status <investigating|" in text


async def test_an_unknown_topic_gets_did_you_mean(ctx: ActionContext) -> None:
    with pytest.raises(UsageError, match="Did you mean 'envdiff'"):
        await perform(understand("help envdif", ctx), ctx)


async def test_each_option_shows_its_default_env_from_the_catalog(ctx: ActionContext) -> None:
    result = await perform(understand("help logs", ctx), ctx)
    rows = {line.split()[0]: line for line in result.detail_lines()[2:]}
    assert rows["<env>"].endswith("(default production, the catalog's default_env)")
    assert rows["--since"].endswith("(default 1h)") and rows["--limit"].endswith("(default 2000)")
    result = await perform(understand("help stuck", ctx), ctx)
    assert "  --older-than     stuck after (default 1h, the catalog's jobs.stuck_after)" in (
        result.detail_lines()
    )
    result = await perform(understand("help run", ctx), ctx)
    assert any("<env>" in line and "(default production" in line for line in result.detail_lines())


async def test_without_a_default_env_the_first_environment_is_named(catalog: Catalog) -> None:
    ctx = ActionContext(catalog.model_copy(update={"default_env": None}), ACTIONS)
    result = await perform(understand("help status", ctx), ctx)
    assert "(default staging, the first environment of the catalog)" in result.detail_lines()[-1]


async def test_a_required_env_claims_no_default(ctx: ActionContext) -> None:
    result = await perform(understand("help db", ctx), ctx)
    assert [line for line in result.detail_lines() if "<env>" in line and "default" in line] == []
