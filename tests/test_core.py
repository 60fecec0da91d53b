"""The shared path from text to result: bounded in time, failures explained."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import BaseModel

import bot.actions.calling
from bot.actions.registry import Action, ActionContext
from bot.config import Catalog
from bot.core import failure_text, perform, understand
from bot.errors import FracasError, UsageError


class NoParams(BaseModel):
    pass


async def _hang(ctx: ActionContext, params: NoParams) -> None:
    await asyncio.sleep(3600)


async def test_an_action_that_hangs_is_cut_off_with_a_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.actions.calling, "ACTION_SECONDS", 0.1)
    ctx = ActionContext(Catalog(), {"hang": Action("hang", NoParams, "Hangs.", _hang)})
    with pytest.raises(FracasError, match=r"did not finish within 0\.1 s"):
        await perform(understand("hang", ctx), ctx)


def test_an_internal_error_is_logged_with_a_reference(caplog: pytest.LogCaptureFixture) -> None:
    try:
        {}["x"]
    except KeyError as exc:
        with caplog.at_level(logging.ERROR):
            text = failure_text(exc, "status production")
    ref = text.split("ref ")[1][:6]
    assert "internal error running `status production` (KeyError" in text
    assert ref in caplog.text and "Traceback" in caplog.text


def test_a_known_error_is_shown_with_its_hint() -> None:
    assert failure_text(FracasError("Render answered 503.", "Retry."), "x") == (
        "Render answered 503. Retry."
    )


async def test_a_secret_typed_into_a_command_is_never_echoed(ctx: ActionContext) -> None:
    token = "xoxb-2468013579-1357924680123-AbCdEfGhIjKlMnOpQrStUvWx"
    with pytest.raises(UsageError) as refused:
        understand(f"logs {token}", ctx)
    assert token not in str(refused.value) and "[secret " in refused.value.message
    invocation = understand(f"logs worker --grep {token}", ctx)
    assert token not in invocation.text  # what Slack echoes: "Working on ...", the origin line
    assert invocation.params.grep == token  # what the action searches for
