"""The shared path from text to result: bounded in time, failures explained."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import BaseModel

import bot.core
from bot.actions.registry import Action, ActionContext
from bot.config import Catalog
from bot.core import failure_text, perform, understand
from bot.errors import FracasError


class NoParams(BaseModel):
    pass


async def _hang(ctx: ActionContext, params: NoParams) -> None:
    await asyncio.sleep(3600)


async def test_an_action_that_hangs_is_cut_off_with_a_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.core, "ACTION_SECONDS", 0.1)
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
