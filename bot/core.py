"""The one path from typed text to a result, shared by Slack, the console and `fracas run`."""

from __future__ import annotations

import asyncio
import dataclasses

from bot.actions import calling
from bot.actions.calling import failure_text
from bot.actions.registry import ActionContext
from bot.commands import Invocation, parse
from bot.errors import FracasError
from bot.results import Result

__all__ = ["failure_text", "perform", "understand"]  # failure_text: the doors' one import


def understand(text: str, ctx: ActionContext) -> Invocation:
    """Parse against the catalog. What gets echoed back (the command line, an error quoting
    a word) is redacted: someone will paste a token into a command one day, and the channel
    must not see it."""
    try:
        invocation = parse(text, ctx.actions, ctx.catalog, list(ctx.runbooks.loaded))
    except FracasError as exc:
        ctx.redactor.error(exc)
        raise
    return dataclasses.replace(invocation, text=ctx.redactor.text(invocation.text))


async def perform(invocation: Invocation, ctx: ActionContext) -> Result:
    """Run the action within a command's time (see bot.actions.calling for what a failure
    says), and scrub what it found: every door shows only redacted results and errors."""
    action = invocation.action
    seconds = calling.ACTION_SECONDS
    result = await calling.call(ctx, action, invocation.params, invocation.text, seconds)
    if action.instant:  # small by definition, and on the ack path: no thread hop
        return ctx.redactor.result(result)
    # A big log window takes a while to scrub; a thread keeps the loop answering meanwhile.
    return await asyncio.to_thread(ctx.redactor.result, result)
