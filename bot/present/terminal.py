"""Results in a terminal with rich: the same content as Slack, laid out for a console."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.table import Table as RichTable
from rich.text import Text

from bot.present.layout import Fitted, Trimmed
from bot.results import Result, StepResult, Table, Verdict

STYLE = {
    Verdict.INFO: ("i", "cyan"),
    Verdict.SKIP: ("»", "dim"),
    Verdict.OK: ("✔", "green"),
    Verdict.WARN: ("▲", "yellow"),
    Verdict.FAIL: ("✖", "red"),
    Verdict.ERROR: ("!", "bold red"),
}


def _headline(verdict: Verdict, title: str, summary: str) -> Text:
    mark, colour = STYLE[verdict]
    line = Text()
    line.append(f"{mark} {verdict.value.upper()} ", style=colour)
    line.append(title, style="bold")
    line.append(f"  {summary}")
    return line


def _facts(facts: tuple[tuple[str, str], ...]) -> RichTable:
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    for key, value in facts:
        grid.add_row(Text(key), Text(value))  # plain text: `[secret ab12]` is not markup
    return grid


def _details(details: tuple[str, ...] | Table) -> RenderableType:
    if isinstance(details, Table):
        return Fitted(details)
    return Text("\n".join(details))


def render_step(step: StepResult, saved: Mapping[str, Path] | None = None) -> RenderableType:
    parts: list[RenderableType] = [_headline(step.verdict, step.title, step.summary)]
    if step.facts:
        parts.append(_facts(step.facts))
    if step.details:
        parts.append(_details(step.details))
    parts += [Text(f"→ {hint}", style="cyan") for hint in step.hints]
    for attachment in step.attachments:
        where = (saved or {}).get(attachment.name)
        size = f"{len(attachment.text.splitlines()):,} lines"
        text = f"{attachment.name} ({size}) saved to {where}" if where else attachment.name
        parts.append(Text(f"[file] {text}", style="dim"))
    return Group(*parts)


def render(result: Result, saved: Mapping[str, Path] | None = None) -> RenderableType:
    """`saved` says where the console wrote each attachment. Lines end where their text does
    (no padding), so a pipe or a file holds only what was said."""
    if isinstance(result, StepResult):
        return Trimmed(render_step(result, saved))
    summary = "" if result.causes else result.summary  # the causes follow, numbered
    parts: list[RenderableType] = [_headline(result.verdict, result.title, summary)]
    if result.causes:
        parts.append(Text("Likely cause:", style="bold"))
        parts += [Text(f"  {i}. {cause}") for i, cause in enumerate(result.causes, 1)]
    if result.noticed:
        parts.append(Text("Also noticed (not the cause):", style="bold"))
        parts += [Text(f"  · {line}") for line in result.noticed]
    for step in result.steps:
        parts += [Text(""), render_step(step, saved)]
    return Trimmed(Group(*parts))


def render_problem(message: str, hint: str = "") -> RenderableType:
    text = Text(f"▲ {message}", style="yellow")
    if hint:
        text.append(f"\n  {hint}", style="cyan")
    return Trimmed(text)


def show(console: Console, result: Result) -> None:
    console.print(render(result))
