"""The report's "likely cause": failing findings ranked, the steps a runbook names as cause
finders first (in its order), then the other failures as symptoms; then what kept steps from
running at all (a missing key, Render down), once however many steps it stopped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from bot.results import StepResult, Verdict
from bot.runbooks.spec import Runbook

MOST = 3
FINDINGS = (Verdict.FAIL, Verdict.WARN)


def likely_causes(runbook: Runbook, results: Mapping[str, StepResult]) -> tuple[str, ...]:
    """At most three lines, each the finding's own summary after the step's title; a failure
    outranks a warning, and a cause finder outranks a symptom of the same verdict."""
    order = [*runbook.causes, *(s.id for s in runbook.steps if s.id not in runbook.causes)]
    found = [(i, results[k]) for i, k in enumerate(order) if k in results]
    ranked = sorted(
        (pair for pair in found if pair[1].verdict in FINDINGS),
        key=lambda pair: (-pair[1].verdict.rank, pair[0]),
    )
    lines = dict.fromkeys(f"{r.title}: {r.summary}" for _, r in ranked)
    errors = Counter(r.summary for _, r in found if r.verdict is Verdict.ERROR)
    for summary, count in errors.most_common():
        step = next(r for _, r in found if r.summary == summary)
        lines[
            f"{step.title}: {summary}" if count == 1 else f"{count} steps could not run: {summary}"
        ] = None
    return tuple(lines)[:MOST]
