"""A runbook's verdict and its likely causes. A runbook about one service (api-down, worker-down)
judges by what its steps found about that service; what they found wrong with another service
is "also noticed", never the cause. Causes are ranked: a failure before a warning, the steps a
runbook names as cause finders first (in its order); then what kept steps from running at all
(a missing key, Render down), once however many steps it stopped. Each is one line."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.results import StepResult, Verdict, worst
from bot.runbooks.spec import Runbook, Step

MOST = 3
LINE = 160  # a likely cause is one line a tired engineer reads at once
FINDINGS = (Verdict.FAIL, Verdict.WARN)
_CLAUSE = re.compile(r"; |\. (?=[A-Z])")  # a summary's first finding ends at either


@dataclass(frozen=True)
class Looked:
    """One step's result, with the step (its id, action and title) and the service it named."""

    step: Step
    service: str
    result: StepResult


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    causes: tuple[str, ...]
    noticed: tuple[str, ...]


@dataclass(frozen=True)
class _Seen:
    step: str
    label: str
    verdict: Verdict
    summary: str


def judge(runbook: Runbook, about: str, looked: Sequence[Looked]) -> Judgement:
    """The verdict from the findings about `about` (every finding when it is empty), the likely
    causes among them, and what the steps noticed about other services."""
    own: list[_Seen] = []
    noticed: dict[str, None] = {}
    for item in looked:
        result, step = item.result, item.step
        if result.findings:  # one per service: each judged as its own finding
            for found in result.findings:
                if not about or found.service == about:
                    own.append(_Seen(step.id, step.action, found.verdict, found.summary))
                elif found.verdict in FINDINGS:
                    noticed[one_line(found.summary)] = None
        elif about and item.service and item.service != about:
            if result.verdict in (*FINDINGS, Verdict.ERROR):
                noticed[one_line(f"{item.service}: {result.summary}")] = None
        else:
            named = step.action if about or not item.service else f"{step.action} {item.service}"
            own.append(_Seen(step.id, step.title or named, result.verdict, result.summary))
    verdict = worst([s.verdict for s in own])
    return Judgement(verdict, _causes(runbook, own), tuple(noticed)[:MOST])


def _causes(runbook: Runbook, seen: list[_Seen]) -> tuple[str, ...]:
    order = [*runbook.causes, *(s.id for s in runbook.steps if s.id not in runbook.causes)]
    position = {step: i for i, step in enumerate(order)}
    ranked = sorted(
        (s for s in seen if s.verdict in FINDINGS),
        key=lambda s: (-s.verdict.rank, position.get(s.step, len(order))),
    )
    lines = dict.fromkeys(one_line(f"{s.label}: {s.summary}") for s in ranked)
    errors = Counter(s.summary for s in seen if s.verdict is Verdict.ERROR)
    for summary, count in errors.most_common():
        label = next(s.label for s in seen if s.summary == summary)
        line = f"{label}: {summary}" if count == 1 else f"{count} steps could not run: {summary}"
        lines[one_line(line)] = None
    return tuple(lines)[:MOST]


def one_line(text: str) -> str:
    """The first finding of a summary, at most LINE characters, cut at a word."""
    first = _CLAUSE.split(" ".join(text.split()), maxsplit=1)[0].rstrip(".")
    if len(first) <= LINE:
        return first
    cut = first[: LINE - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"
