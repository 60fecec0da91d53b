"""`help [command]`: the grammar, generated from the registered actions."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.grammar import describe, usage
from bot.actions.params import REST, unknown
from bot.actions.registry import Action, ActionContext, action
from bot.config import Catalog
from bot.errors import UsageError
from bot.results import StepResult, Table, Verdict


class HelpParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: Annotated[str | None, REST] = Field(None, description="a command, e.g. logs")


@action("help", instant=True)
async def help_(ctx: ActionContext, params: HelpParams) -> StepResult:
    """Show the commands, or how to use one: `help logs`."""
    if not params.command:
        return _overview(list(ctx.actions.values()))
    word = " ".join(params.command.lower().split())
    chosen = [a for n, a in ctx.actions.items() if n == word or n.startswith(word + " ")]
    if not chosen:
        tops = dict.fromkeys(n.split(" ")[0] for n in ctx.actions)
        raise UsageError(unknown("command", word, tops), "Type `help` for the list.")
    return _detail(chosen, ctx.catalog)


def _overview(actions: list[Action]) -> StepResult:
    rows = tuple((usage(a), a.summary) for a in actions)
    return StepResult(
        Verdict.INFO,
        "fracas commands",
        f"{len(actions)} commands. `help <command>` shows one in detail.",
        details=Table(("usage", "what it does"), rows),
    )


def _detail(actions: list[Action], catalog: Catalog) -> StepResult:
    lines: list[str] = []
    for a in actions:
        lines += [usage(a), *(f"  {line}".rstrip() for line in a.doc.strip().splitlines())]
        lines += [f"  {arg:<16} {text}" for arg, text in describe(a, catalog)]
        lines.append("")
    first = actions[0]
    title = first.name if len(actions) == 1 else first.name.split(" ")[0]
    return StepResult(
        Verdict.INFO,
        f"help: {title}",
        first.summary if len(actions) == 1 else f"{len(actions)} `{title}` commands.",
        details=tuple(lines[:-1]),
    )
