"""The one way to call an action, seen from both callers: a typed command (core.perform) and a
runbook step. A failure reads the same from either: a timeout names its limit, a known failure
keeps its hint (scrubbed), a crash of ours is logged under the ref the user is given."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from bot.actions import calling
from bot.actions.calling import failure_text
from bot.actions.registry import Action, ActionContext
from bot.config import Catalog
from bot.core import perform, understand
from bot.errors import FracasError
from bot.results import StepResult
from bot.runbooks.library import load_runbook
from bot.runbooks.runner import execute, prepare

SECRET = "crash-detail-7f3a9c"
TOKEN = "xoxb-2468013579-1357924680123-AbCdEfGhIjKlMnOpQrStUvWx"
REF = re.compile(r"ref ([0-9a-f]{6})")


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def _hang(ctx: ActionContext, params: NoParams) -> StepResult:
    await asyncio.sleep(3600)
    raise AssertionError("never woke")


async def _boom(ctx: ActionContext, params: NoParams) -> StepResult:
    raise RuntimeError(SECRET)


async def _refuse(ctx: ActionContext, params: NoParams) -> StepResult:
    raise FracasError(f"Render refused {TOKEN}.", "Try again in a minute.")


CALLS = {
    name: Action(name, NoParams, f"{name}.", fn)
    for name, fn in (("hang", _hang), ("boom", _boom), ("refuse", _refuse))
}


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> ActionContext:
    """Commands get 0.1 s here, as the runbook steps below do."""
    monkeypatch.setattr(calling, "ACTION_SECONDS", 0.1)
    return ActionContext(Catalog(), CALLS)


async def as_command(name: str, ctx: ActionContext) -> FracasError:
    with pytest.raises(FracasError) as failed:
        await perform(understand(name, ctx), ctx)
    return failed.value


async def as_step(name: str, ctx: ActionContext, folder: Path) -> StepResult:
    path = folder / "one.yaml"
    path.write_text(
        f"name: one\ntitle: One\nsteps:\n  - {{id: it, action: {name}, timeout: 100ms}}\n"
    )
    runbook = load_runbook(path, ctx.actions).runbook
    [result] = (await execute(prepare(runbook, "production", {}, ctx), ctx)).steps
    return result


async def test_a_timeout_names_the_limit_from_both_callers(lab: ActionContext, tmp_path) -> None:
    said = "`hang` did not finish within 0.1 s: a dependency is slow or down."
    command = await as_command("hang", lab)
    assert isinstance(command, calling.TimedOut)
    assert (command.message, command.hint) == (said, "Its own check names it when run alone.")
    step = await as_step("hang", lab, tmp_path)
    assert (step.summary, step.hints) == (said, ("Run `hang` alone to see which call hangs.",))


async def test_a_known_failure_keeps_its_hint_scrubbed_from_both_callers(
    lab: ActionContext, tmp_path
) -> None:
    command = await as_command("refuse", lab)
    assert command.hint == "Try again in a minute."
    assert command.message.startswith("Render refused [secret ") and TOKEN not in str(command)
    step = await as_step("refuse", lab, tmp_path)
    assert step.summary == str(command)  # scrubbed by the call itself, before any door


async def test_a_crash_gives_a_log_ref_from_both_callers(
    lab: ActionContext, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger=calling.__name__):
        said = [str(await as_command("boom", lab)), (await as_step("boom", lab, tmp_path)).summary]
    refs = [REF.findall(text) for text in said]
    logged = [(r.name, REF.findall(r.getMessage()), r.exc_info is not None) for r in caplog.records]
    assert logged == [(calling.__name__, ref, True) for ref in refs]
    for text in said:
        assert "internal error running `boom` (RuntimeError, ref " in text and SECRET not in text
    assert SECRET in caplog.text  # the detail is in the log, under the ref


def test_a_known_error_is_shown_with_its_hint() -> None:
    assert failure_text(FracasError("Render answered 503.", "Retry."), "x") == (
        "Render answered 503. Retry."
    )
