"""The one way to call an action: with its params, bounded in time, every failure put the same
way whoever called (a typed command, a runbook step), so the user always hears back."""

from __future__ import annotations

import asyncio
import logging
import secrets

from pydantic import BaseModel

from bot.actions.registry import Action, ActionContext
from bot.errors import FracasError
from bot.results import Result

log = logging.getLogger(__name__)
ACTION_SECONDS = 120  # the most a typed command gets; a runbook step gets its own timeout


class TimedOut(FracasError):
    """The action outlasted its bound; a runbook step swaps the hint for one of its own."""


async def call(
    ctx: ActionContext, action: Action, params: BaseModel, command: str, seconds: float
) -> Result:
    """Run `action` within `seconds`. Any failure comes out as a scrubbed FracasError: a
    timeout names the limit, a known failure keeps its hint, a crash gets a log ref."""
    try:
        async with asyncio.timeout(seconds):
            return await action.run(ctx, params)
    except TimeoutError:
        raise ctx.redactor.error(
            TimedOut(
                f"`{command}` did not finish within {seconds:g} s: a dependency is slow or down.",
                "Its own check names it when run alone.",
            )
        ) from None
    except FracasError as exc:
        ctx.redactor.error(exc)
        raise
    except Exception as exc:
        raise ctx.redactor.error(FracasError(failure_text(exc, command))) from exc


def failure_text(exc: BaseException, command: str) -> str:
    """What to tell the user when an action raised: the cause if known, else a reference id."""
    if isinstance(exc, FracasError):
        return str(exc)
    ref = secrets.token_hex(3)
    log.error("action crashed: %s (ref %s)", command, ref, exc_info=exc)
    return (
        f"fracas hit an internal error running `{command}` ({type(exc).__name__}, ref {ref}). "
        "Nothing was changed; the details are in the bot's log under that ref."
    )
