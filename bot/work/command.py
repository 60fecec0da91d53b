"""A command's work, whoever asked: its text in, an Answer out. Slack's worker job and the
terminal (`fracas console`, `fracas run`) both go through `answer`, so a command behaves the
same at every door; only where the answer is shown differs. Both then `keep` it: a command run
during an incident goes on that incident's timeline."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.actions.registry import Action, ActionContext
from bot.core import failure_text, perform, understand
from bot.errors import FracasError, UsageError
from bot.incidents.model import Incident
from bot.incidents.record import entries_of, failure_entry, record, target
from bot.results import Result
from bot.store.engine import STORE_ERRORS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """What one command produced: a result, or a refusal with its exit code; `action` is
    what the text was understood as (None when it was not)."""

    result: Result | None = None
    message: str = ""
    hint: str = ""
    code: int = EXIT_OK
    action: Action | None = None
    command: str = ""  # the command line as understood, redacted
    kept: str = ""  # the incident whose timeline it went on (FM-31), once a door kept it


async def answer(
    text: str, ctx: ActionContext, progress: Callable[[Any], None] | None = None
) -> Answer:
    """Run one command; `progress` follows a runbook as it goes. Every failure becomes an
    Answer that says why (a crash of ours, with a reference to the log)."""
    try:
        invocation = understand(text, ctx)
    except UsageError as exc:
        return Answer(message=exc.message, hint=exc.hint, code=EXIT_USAGE)
    except FracasError as exc:
        return Answer(message=exc.message, hint=exc.hint, code=EXIT_FAILED)
    ran = functools.partial(Answer, action=invocation.action, command=invocation.text)
    try:
        result = await perform(invocation, dataclasses.replace(ctx, progress=progress))
    except UsageError as exc:
        return ran(message=exc.message, hint=exc.hint, code=EXIT_USAGE)
    except FracasError as exc:
        return ran(message=exc.message, hint=exc.hint, code=EXIT_FAILED)
    except Exception as exc:
        return ran(message=failure_text(exc, text), code=EXIT_FAILED)
    return ran(result, code=EXIT_FAILED if result.verdict.failed else EXIT_OK)


@dataclass(frozen=True)
class Kept:
    """Where a command's entries went, and their keys (to add the message's link later)."""

    incident: Incident
    keys: tuple[str, ...]


async def keep(ctx: ActionContext, reply: Answer, at: float) -> Kept | None:
    """Put a command that ran on the timeline of the incident it was run in (its channel's;
    at a terminal, the only open one): its verdict and cause, a runbook's steps; the link to
    its message is added once that is posted (Incidents.link). The incident commands keep the
    timeline themselves; instant ones (help) find nothing; a refusal never ran. A store that
    fails here costs the entry, not the answer already given: it is logged."""
    action = reply.action
    if ctx.incidents is None or action is None or action.incident or action.instant:
        return None
    if reply.result is None and reply.code == EXIT_USAGE:
        return None
    origin = ctx.origin
    try:
        incident = await target(ctx.incidents, origin, ctx.catalog.incident_channel)
        if incident is None:
            return None
        key = origin.key or f"terminal:{at}"
        if reply.result is not None:
            entries = entries_of(
                reply.result, key=key, command=reply.command, author=origin.author, at=at
            )
        else:
            entries = [
                failure_entry(
                    reply.message, key=key, command=reply.command, author=origin.author, at=at
                )
            ]
        await record(ctx.incidents, incident, entries)
    except STORE_ERRORS as exc:
        log.error("could not record `%s` on the timeline: %s", reply.command, exc)
        return None
    return Kept(incident, tuple(e.key for e in entries))
