"""A runbook at the terminal: a live table while it runs, one line per step when the output is
not a terminal; either way the user sees every step and the display is gone before the report."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from bot.actions.all import ACTIONS
from bot.actions.registry import ActionContext
from bot.config import Catalog
from bot.present.terminal_progress import Progress
from bot.redact import Redactor
from bot.runbooks.library import load_runbook
from bot.runbooks.runner import execute, prepare

BOOK = """\
name: tour
title: Tour
steps:
  - {id: overview, action: help}
  - {id: detail, action: help, with: {command: status}, needs: [overview]}
"""


async def _run(tmp_path: Path, console: Console) -> Progress:
    (tmp_path / "tour.yaml").write_text(BOOK)
    runbook = load_runbook(tmp_path / "tour.yaml", ACTIONS).runbook
    ctx = ActionContext(Catalog.model_validate({"environments": {"production": {}}}), ACTIONS)
    progress = Progress(console, Redactor())
    await execute(prepare(runbook, "production", {}, ctx), ctx, progress)
    return progress


async def test_at_a_terminal_a_live_table_follows_the_run(tmp_path: Path) -> None:
    out = io.StringIO()
    progress = await _run(tmp_path, Console(file=out, force_terminal=True, width=120))
    shown = out.getvalue()
    assert "Tour in production" in shown and "help status" in shown
    assert progress._live is None, "the live display is stopped before the report prints"


async def test_elsewhere_each_finished_step_is_one_line(tmp_path: Path) -> None:
    out = io.StringIO()
    await _run(tmp_path, Console(file=out, force_terminal=False, width=120))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("i help (") and "commands. `help <command>`" in lines[0]
    assert lines[1].startswith("i help status (") and len(lines) == 2
