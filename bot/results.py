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
class ServiceFinding:
    """What a step that looks at several services (status) found about one of them, so a
    runbook about one service can tell its own finding from what it also noticed."""

    service: str
    verdict: Verdict
    summary: str


@dataclass(frozen=True)
class StepResult:
    """What one action found: a verdict, one line naming the cause, and the evidence.
    `command` is the command line that found it, when a runbook step ran it: what the report's
    buttons run again (a step's title is for people, not the parser). `findings` splits the
    verdict by service when the step looked at several."""

    verdict: Verdict
    title: str
    summary: str
    facts: tuple[tuple[str, str], ...] = ()
    details: tuple[str, ...] | Table = ()
    hints: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    findings: tuple[ServiceFinding, ...] = ()

    def detail_lines(self) -> tuple[str, ...]:
        return self.details.lines() if isinstance(self.details, Table) else self.details


@dataclass(frozen=True)
class Report:
    """A runbook's outcome: its steps, and the failing findings ranked as likely causes.
    A runbook about one service (`about`) takes its verdict from the findings about it
    (`judged`); what its steps found wrong with other services is `noticed`, never a cause.
    `data` holds the run's timings (JSON-able) for scripts and the benchmark."""

    title: str
    steps: tuple[StepResult, ...]
    causes: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    about: str = ""
    noticed: tuple[str, ...] = ()
    judged: Verdict | None = None

    @property
    def verdict(self) -> Verdict:
        if self.judged is not None:
            return self.judged
        return worst([s.verdict for s in self.steps])

    @property
    def summary(self) -> str:
        """One line for the headline: the first likely cause, or that none was found."""
        if self.causes:
            return self.causes[0]
        if self.verdict.rank <= Verdict.OK.rank:
            return "no step found anything wrong" + (f" with {self.about}" if self.about else "")
        return f"{len(self.steps)} steps"


Result = StepResult | Report

_ADAPTER: TypeAdapter[Result] = TypeAdapter(Result)


def to_json(result: Result) -> str:
    """Stable JSON for scripts and CI (`fracas run ... --json`)."""
    body = _ADAPTER.dump_python(result, mode="json")
    if isinstance(result, Report):
        del body["judged"]  # the verdict, once: judged when the runbook is about a service
        body["verdict"] = result.verdict.value
    body["kind"] = "report" if isinstance(result, Report) else "step"
    return json.dumps(body, indent=2, ensure_ascii=False)
