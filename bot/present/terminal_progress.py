"""A runbook at a terminal: a rich live table while it runs (each step pending, running with
its time ticking, or done with its verdict); one line per finished step when the output is not
a terminal (a script, a pipe, `fracas demo --script`)."""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bot.present.layout import Trimmed
from bot.present.terminal import STYLE
from bot.redact import Redactor
from bot.runbooks.runner import Run, StepRun

SUMMARY = 110


class Progress:
    """The runner's listener for one run at the terminal."""

    def __init__(self, console: Console, redactor: Redactor) -> None:
        self.console, self.redactor = console, redactor
        self._live: Live | None = None
        self._said: set[str] = set()

    def __call__(self, run: Run) -> None:
        if not self.console.is_terminal:
            self._lines(run)
            return
        if self._live is None:
            self._live = Live(
                get_renderable=lambda: self._table(run),
                console=self.console,
                refresh_per_second=8,
                transient=True,
            )
            self._live.start()
        if run.done:
            self.stop()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _lines(self, run: Run) -> None:
        for step in run.steps:
            if step.result is not None and step.step.id not in self._said:
                self._said.add(step.step.id)
                mark, label, took, said = self._row(step)
                took = Text(f" ({took.plain} s)" if took.plain else "", style="dim")
                self.console.print(Trimmed(Text.assemble(mark, " ", label, took, "  ", said)))

    def _table(self, run: Run) -> Table:
        done = sum(s.state == "done" for s in run.steps)
        table = Table(
            title=f"{run.title}: {done} of {len(run.steps)} done", show_edge=False, box=None
        )
        for name in ("", "step", "s", "found"):
            table.add_column(name)
        for step in run.steps:
            table.add_row(*self._row(step))
        return table

    def _row(self, step: StepRun) -> tuple[Text, Text, Text, Text]:
        seconds = step.seconds
        took = Text(f"{seconds:.2f}" if seconds is not None else "", style="dim")
        if step.result is None:
            mark = Text("…" if step.state == "running" else "·", style="cyan")
            return mark, Text(step.label), took, Text(step.state, style="dim")
        symbol, colour = STYLE[step.result.verdict]
        said = self.redactor.text(step.result.summary)
        said = said if len(said) <= SUMMARY else said[: SUMMARY - 1] + "…"
        return Text(symbol, style=colour), Text(step.label), took, Text(said)
