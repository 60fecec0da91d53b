"""The one result model every door renders: Slack, terminal, JSON, and later the FRACAS report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import TypeAdapter


class Verdict(StrEnum):
    """How a step ended. `info` is for answers that judge nothing (help, listings); `skip` for
    a runbook step that did not run because a step it needs failed."""

    INFO = "info"
    SKIP = "skip"
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def failed(self) -> bool:
        """Whether a script should treat it as a problem (exit code 1)."""
        return self.rank >= _RANK[Verdict.WARN]


_RANK = {
    Verdict.SKIP: 0,
    Verdict.INFO: 0,
    Verdict.OK: 1,
    Verdict.WARN: 2,
    Verdict.FAIL: 3,
    Verdict.ERROR: 4,
}


def worst(verdicts: list[Verdict]) -> Verdict:
    """The verdict that decides: an error outranks a fail, a fail a warning."""
    return max(verdicts, key=lambda v: v.rank, default=Verdict.INFO)


@dataclass(frozen=True)
class Table:
    """Tabular details; renderers lay it out for their medium."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def lines(self) -> tuple[str, ...]:
        """Plain aligned text, for media without tables (Slack code blocks, files)."""
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=False)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        head = fmt.format(*self.columns).rstrip()
        return (head, *(fmt.format(*row).rstrip() for row in self.rows))


@dataclass(frozen=True)
class Attachment:
    """A whole artefact (full log window, full details) shipped as a file, never inline."""

    name: str
    text: str


@dataclass(frozen=True)
class StepResult:
    """What one action found: a verdict, one line naming the cause, and the evidence.
    `command` is the command line that found it, when a runbook step ran it: what the report's
    buttons run again (a step's title is for people, not the parser)."""

    verdict: Verdict
    title: str
    summary: str
    facts: tuple[tuple[str, str], ...] = ()
    details: tuple[str, ...] | Table = ()
    hints: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    command: str = ""

    def detail_lines(self) -> tuple[str, ...]:
        return self.details.lines() if isinstance(self.details, Table) else self.details


@dataclass(frozen=True)
class Report:
    """A runbook's outcome: its steps, and the failing findings ranked as likely causes.
    `data` holds the run's timings (JSON-able) for scripts and the benchmark."""

    title: str
    steps: tuple[StepResult, ...]
    causes: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return worst([s.verdict for s in self.steps])


Result = StepResult | Report

_ADAPTER: TypeAdapter[Result] = TypeAdapter(Result)


def to_json(result: Result) -> str:
    """Stable JSON for scripts and CI (`fracas run ... --json`)."""
    body = _ADAPTER.dump_python(result, mode="json")
    if isinstance(result, Report):
        body["verdict"] = result.verdict.value
    body["kind"] = "report" if isinstance(result, Report) else "step"
    return json.dumps(body, indent=2, ensure_ascii=False)
