"""The one path from typed text to a result, shared by Slack, the console and `fracas run`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets

from bot.actions.registry import ActionContext
from bot.commands import Invocation, parse
from bot.errors import FracasError, UsageError
from bot.results import Result

log = logging.getLogger(__name__)
ACTION_SECONDS = 120


def understand(text: str, ctx: ActionContext) -> Invocation:
    """Parse against the catalog; a verb that has not landed yet is refused here, instantly.

    What gets echoed back (the command line, an error quoting a word) is redacted: someone
    will paste a token into a command one day, and the channel must not see it.
    """
    try:
        invocation = parse(text, ctx.actions, ctx.catalog, list(ctx.runbooks.loaded))
    except FracasError as exc:
        _scrub(exc, ctx)
        raise
    invocation = dataclasses.replace(invocation, text=ctx.redactor.text(invocation.text))
    action = invocation.action
    if action.run is None:
        raise UsageError(
            f"`{action.name}` is not available yet: it arrives with {action.arrives_with}.",
            "Type `help` to see what works today.",
        )
    return invocation


async def perform(invocation: Invocation, ctx: ActionContext) -> Result:
    """Run the action, bounded in time (whatever hangs, the user hears back), and scrub what
    it says: every door shows only redacted results and errors."""
    action = invocation.action
    assert action.run is not None
    try:
        async with asyncio.timeout(ACTION_SECONDS):
            result = await action.run(ctx, invocation.params)
    except TimeoutError:
        raise FracasError(
            f"`{invocation.text}` did not finish within {ACTION_SECONDS} s.",
            "A dependency is slow or down; its own check names it when run alone.",
        ) from None
    except FracasError as exc:
        _scrub(exc, ctx)
        raise
    if action.instant:  # small by definition, and on the ack path: no thread hop
        return ctx.redactor.result(result)
    # A big log window takes a while to scrub; a thread keeps the loop answering meanwhile.
    return await asyncio.to_thread(ctx.redactor.result, result)


def _scrub(exc: FracasError, ctx: ActionContext) -> None:
    exc.message, exc.hint = ctx.redactor.text(exc.message), ctx.redactor.text(exc.hint)
    exc.args = (exc.message,)


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
