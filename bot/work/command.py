"""A command's work, whoever asked: its text in, an Answer out. Slack's worker job and the
terminal (`fracas console`, `fracas run`) both go through `answer`, so a command behaves the
same at every door; only where the answer is shown differs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.actions.registry import ActionContext
from bot.core import failure_text, perform, understand
from bot.errors import FracasError, UsageError
from bot.results import Result

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class Answer:
    """What one command produced: a result, or a refusal with its exit code."""

    result: Result | None = None
    message: str = ""
    hint: str = ""
    code: int = EXIT_OK


async def answer(
    text: str, ctx: ActionContext, progress: Callable[[Any], None] | None = None
) -> Answer:
    """Run one command; `progress` follows a runbook as it goes. Every failure becomes an
    Answer that says why (a crash of ours, with a reference to the log)."""
    try:
        result = await perform(understand(text, ctx), dataclasses.replace(ctx, progress=progress))
    except UsageError as exc:
        return Answer(message=exc.message, hint=exc.hint, code=EXIT_USAGE)
    except FracasError as exc:
        return Answer(message=exc.message, hint=exc.hint, code=EXIT_FAILED)
    except Exception as exc:
        return Answer(message=failure_text(exc, text), code=EXIT_FAILED)
    return Answer(result, code=EXIT_FAILED if result.verdict.failed else EXIT_OK)
