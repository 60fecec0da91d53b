"""Terminal doors: `fracas console` (interactive) and `fracas run` (one command, then exit)."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import functools
import getpass
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from bot.actions.incident import book
from bot.actions.registry import ActionContext
from bot.errors import FracasError
from bot.incidents import report
from bot.incidents.desk import scoped
from bot.incidents.room import Origin
from bot.present.layout import Trimmed
from bot.present.terminal import render, render_problem
from bot.present.terminal_progress import Progress
from bot.results import Report, Result, to_json
from bot.work import command
from bot.work.command import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Answer

HISTORY = Path.home() / ".fracas_history"
SLASH = "/fracas"


async def answer(text: str, ctx: ActionContext, console: Console | None = None) -> Answer:
    """Run one command; with a `console`, a runbook shows its progress there as it goes. Run
    while an incident is open, it goes on that incident's timeline (`kept` names it)."""
    progress = Progress(console, ctx.redactor) if console is not None else None
    ctx = dataclasses.replace(
        ctx, origin=Origin(user=terminal_user(), key=f"terminal:{uuid.uuid4()}")
    )
    at = time.time()
    try:
        reply = await command.answer(unslash(text), ctx, progress)
    finally:
        if progress is not None:
            progress.stop()
    kept = await command.keep(ctx, reply, at)
    return dataclasses.replace(reply, kept=kept.incident.id) if kept else reply


def terminal_user() -> str:
    """Who is at the terminal, as the timeline names them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "terminal"


def unslash(text: str) -> str:
    """`/fracas status production`, pasted from Slack, is `status production` here."""
    words = text.split(None, 1)
    if not words or words[0].lower() != SLASH:
        return text
    return words[1] if len(words) > 1 else ""


async def _answer_and_close(text: str, ctx: ActionContext, console: Console | None) -> Answer:
    try:
        return await answer(text, ctx, console)
    finally:
        await ctx.aclose()


def show(console: Console, reply: Answer, files: Path | None = None) -> None:
    """`files`: where attachments go (the demo's own directory), else a private new one."""
    if reply.result is not None:
        console.print(render(reply.result, save_files(reply.result, files)))
    else:
        console.print(render_problem(reply.message, reply.hint))
    if reply.kept:
        console.print(f"(on {reply.kept}'s timeline)", style="dim", markup=False, highlight=False)


def save_files(result: Result, into: Path | None = None) -> dict[str, Path]:
    """Attachments (a whole log window) go to files a terminal can open: private to the user,
    and as redacted as everything else the result holds."""
    steps = result.steps if isinstance(result, Report) else (result,)
    attachments = [a for step in steps for a in step.attachments]
    if not attachments:
        return {}
    saved = {}
    for attachment in attachments:
        path = (into or _files()) / Path(attachment.name).name
        path.write_text(attachment.text)
        saved[attachment.name] = path
    return saved


@functools.cache
def _files() -> Path:
    """One new directory per session, made by mkdtemp: mode 0700, and a name nobody else could
    have prepared for us in a shared /tmp."""
    return Path(tempfile.mkdtemp(prefix="fracas-"))


def join_words(words: list[str]) -> str:
    """Shell words back into command text; words with blanks are quoted the way we parse."""
    out = []
    for word in words:
        if word and not any(c.isspace() for c in word):
            out.append(word)
        else:
            out.append(f'"{word}"' if '"' not in word else f"'{word}'")
    return " ".join(out)


def run_once(words: list[str], ctx: ActionContext, as_json: bool, console: Console) -> int:
    """`fracas run`: exit 0 ok, 1 warn/fail/error, 2 usage or configuration error. One word
    is the command line as typed (`fracas run '/fracas logs worker --grep "a b"'`)."""
    text = words[0] if len(words) == 1 else join_words(words)
    reply = asyncio.run(_answer_and_close(text, ctx, None if as_json else console))
    if as_json:
        body = (
            to_json(reply.result)
            if reply.result is not None
            else json.dumps({"kind": "error", "message": reply.message, "hint": reply.hint})
        )
        print(body)
    else:
        show(console, reply)
    return reply.code


def interactive(
    ctx: ActionContext,
    console: Console,
    banner: str,
    read: Callable[[str], str] = input,
    files: Path | None = None,
) -> int:
    """Read, answer, repeat: the same grammar and results as Slack, on one event loop.
    Returns how many lines could not be understood (a script checks that)."""
    _enable_history()
    console.print(Trimmed(Text.from_markup(banner)))
    with asyncio.Runner() as runner:
        try:
            return _loop(ctx, console, read, runner, files)
        finally:
            runner.run(ctx.aclose())


def _loop(
    ctx: ActionContext,
    console: Console,
    read: Callable[[str], str],
    runner: asyncio.Runner,
    files: Path | None,
) -> int:
    refused = 0
    while True:
        try:
            line = read("fracas> ").strip()
        except EOFError:
            console.print()
            return refused
        except KeyboardInterrupt:
            console.print()
            continue
        if line in ("exit", "quit", "q"):
            return refused
        if not line:
            continue
        try:
            reply = runner.run(answer(line, ctx, console))
        except KeyboardInterrupt:
            console.print(render_problem("interrupted"))
            continue
        refused += reply.code == EXIT_USAGE
        show(console, reply, files)


def _enable_history() -> None:
    """Arrow keys and history at a real terminal, where readline exists."""
    if not sys.stdin.isatty():
        return
    try:
        import readline
    except ImportError:
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)
    atexit.register(_save_history, readline)


def _save_history(readline: Any) -> None:
    with contextlib.suppress(OSError):
        readline.write_history_file(HISTORY)


def print_report(ctx: ActionContext, ref: str | None, err: Console) -> int:
    """`fracas report FM-31`: the Markdown on stdout (for `> FM-31.md`), problems on stderr."""

    async def written() -> str:
        try:
            incidents = book(ctx)
            incident = await scoped(incidents, Origin(), ref)
            entries = await incidents.timeline(incident)
            template = ctx.catalog.incidents.template
            return report.write(incident, entries, ctx.redactor, template)
        finally:
            await ctx.aclose()

    try:
        markdown = asyncio.run(written())
    except FracasError as exc:
        err.print(render_problem(exc.message, exc.hint))
        return EXIT_FAILED
    sys.stdout.write(markdown)
    return EXIT_OK
