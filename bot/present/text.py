"""Results as plain text: the whole of a result, for files attached where Slack has to cut."""

from __future__ import annotations

from bot.results import Result, StepResult


def plain(result: Result) -> str:
    if isinstance(result, StepResult):
        return "\n".join(_step(result)) + "\n"
    lines = [f"[{result.verdict.value.upper()}] {result.title}"]
    if result.causes:
        lines += ["", "Likely cause:", *(f"  {i}. {c}" for i, c in enumerate(result.causes, 1))]
    if result.noticed:
        lines += ["", "Also noticed (not the cause):", *(f"  - {n}" for n in result.noticed)]
    for step in result.steps:
        lines += ["", *_step(step)]
    return "\n".join(lines) + "\n"


def _step(step: StepResult) -> list[str]:
    lines = [f"[{step.verdict.value.upper()}] {step.title}", step.summary]
    lines += [f"{key}: {value}" for key, value in step.facts]
    lines += [f"-> {hint}" for hint in step.hints]
    if step.details:
        lines += ["", *step.detail_lines()]
    return lines
