"""Running a runbook: every step as soon as the steps it needs are done, each bounded by its
timeout. A step that fails, crashes or times out never stops the steps that do not need it;
the doors watch the run through a listener called at every change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from bot.actions.calling import ACTION_SECONDS, TimedOut, call
from bot.actions.registry import ActionContext
from bot.commands import Invocation
from bot.errors import FracasError
from bot.results import Report, StepResult, Verdict
from bot.runbooks.bind import bind, names_for
from bot.runbooks.causes import Looked, judge
from bot.runbooks.spec import Runbook, Step

PASSED = frozenset({Verdict.OK, Verdict.WARN, Verdict.INFO})
RUN_SECONDS = ACTION_SECONDS - 10  # a report, however late, before any command's limit
State = Literal["pending", "running", "done"]


@dataclass
class StepRun:
    """One step of a run as the doors see it: what it runs, where it is, what it found."""

    step: Step
    label: str  # the step's title, else its command line
    invocation: Invocation | None = None
    problem: str = ""  # why the step could not be made into a call
    state: State = "pending"
    result: StepResult | None = None
    started: float | None = None
    ended: float | None = None

    @property
    def seconds(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or time.perf_counter()) - self.started


Listener = Callable[["Run"], None]


@dataclass
class Run:
    """A runbook run in progress; `report` is set once every step is done."""

    runbook: Runbook
    env: str
    steps: list[StepRun]
    about: str = ""  # the service a runbook with a `service` parameter is about
    started: float = field(default_factory=time.perf_counter)
    report: Report | None = None

    @property
    def title(self) -> str:
        return f"{self.runbook.title} in {self.env}"

    @property
    def done(self) -> bool:
        return self.report is not None


def prepare(
    runbook: Runbook,
    env: str,
    given: Mapping[str, str],
    ctx: ActionContext,
) -> Run:
    """Every step bound to its call up front; a step that cannot be (a service the catalog
    lacks) becomes an error of its own instead of stopping the run."""
    names = names_for(runbook, env, given, ctx.catalog)
    steps = []
    for step in runbook.steps:
        action = ctx.actions.get(step.action)
        try:
            if action is None:
                raise FracasError(f"`{step.action}` is not an action this bot has.")
            invocation = bind(step, action, names, ctx.catalog)
        except FracasError as exc:
            steps.append(StepRun(step, step.title or step.action, problem=str(exc)))
            continue
        steps.append(StepRun(step, step.title or invocation.text, invocation))
    about = names.get("service", "") if "service" in runbook.parameters else ""
    return Run(runbook, env, steps, about)


async def execute(run: Run, ctx: ActionContext, listener: Listener | None = None) -> Report:
    """Start every step at once; each waits only for what it needs. Render answers are shared
    for the run, so two steps asking the same thing cost one call."""
    notify = listener or (lambda _: None)
    tasks: dict[str, asyncio.Task[None]] = {}
    by_id = {s.step.id: s for s in run.steps}

    async def go(current: StepRun) -> None:
        needed = [by_id[n] for n in current.step.needs]
        await asyncio.gather(*(tasks[n.step.id] for n in needed))
        failed = [n for n in needed if n.result is None or n.result.verdict not in PASSED]
        if failed:
            current.result = _skipped(current, failed)
        else:
            current.state, current.started = "running", time.perf_counter()
            notify(run)
            current.result = await _outcome(current, ctx)
            current.ended = time.perf_counter()
        current.state = "done"
        notify(run)

    with ctx.render.shared():
        for current in _in_order(run.steps):
            tasks[current.step.id] = asyncio.create_task(go(current))
        notify(run)
        _, late = await asyncio.wait(tasks.values(), timeout=RUN_SECONDS)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    for current in run.steps:
        if current.result is None:  # a chain of slow steps outlasted the run's own budget
            current.state, current.ended = "done", time.perf_counter()
            current.result = StepResult(
                Verdict.ERROR,
                current.label,
                f"Did not finish within the runbook's {RUN_SECONDS:g} s.",
            )
    run.report = _report(run)
    notify(run)
    return run.report


def _in_order(steps: list[StepRun]) -> list[StepRun]:
    """Needed steps first, so each task can await the tasks of its needs (no cycles: the
    library refused them)."""
    ordered: list[StepRun] = []
    placed: set[str] = set()
    pending = list(steps)
    while pending:
        ready = [s for s in pending if set(s.step.needs) <= placed]
        ordered += ready
        placed |= {s.step.id for s in ready}
        pending = [s for s in pending if s.step.id not in placed]
    return ordered


async def _outcome(current: StepRun, ctx: ActionContext) -> StepResult:
    """What the step found; a failure (bot.actions.calling says it) becomes an `error` step,
    never a lost run."""
    title, invocation = current.label, current.invocation
    if invocation is None:
        return StepResult(Verdict.ERROR, title, f"Could not run: {current.problem}")
    seconds = current.step.timeout.total_seconds()
    try:
        result = await call(ctx, invocation.action, invocation.params, invocation.text, seconds)
    except TimedOut as exc:
        hint = f"Run `{invocation.text}` alone to see which call hangs."
        return StepResult(Verdict.ERROR, title, exc.message, hints=(hint,))
    except FracasError as exc:
        return StepResult(Verdict.ERROR, title, str(exc))
    if not isinstance(result, StepResult):
        return StepResult(Verdict.ERROR, title, "The step gave a runbook report, not a finding.")
    return result


def _skipped(current: StepRun, failed: list[StepRun]) -> StepResult:
    why = ", ".join(f"{f.step.id} ({f.result.verdict.value if f.result else '?'})" for f in failed)
    return StepResult(Verdict.SKIP, current.label, f"Skipped: it needs {why}.")


def _report(run: Run) -> Report:
    looked = [
        Looked(s.step, _service(s), _with_command(s.result, s))
        for s in run.steps
        if s.result is not None  # every one: execute gave each step its result
    ]
    timings = {
        s.step.id: {
            "label": s.label,
            "verdict": s.result.verdict.value if s.result else "error",
            "needs": list(s.step.needs),
            "start_ms": _ms(s.started - run.started) if s.started is not None else None,
            "ms": _ms(s.seconds) if s.seconds is not None else None,
        }
        for s in run.steps
    }
    data = {
        "runbook": run.runbook.name,
        "env": run.env,
        "wall_ms": _ms(time.perf_counter() - run.started),
        "steps": timings,
    }
    judged = judge(run.runbook, run.about, looked)
    return Report(
        run.title,
        tuple(item.result for item in looked),
        judged.causes,
        data,
        about=run.about,
        noticed=judged.noticed,
        judged=judged.verdict,
    )


def _service(current: StepRun) -> str:
    """The catalog service a step's call names, if any (an env-wide step names none)."""
    if current.invocation is None:
        return ""
    return getattr(current.invocation.params, "service", None) or ""


def _with_command(result: StepResult, current: StepRun) -> StepResult:
    """The step's finding, carrying the command line it ran (none if it could not be bound)."""
    if current.invocation is None:
        return result
    return replace(result, command=current.invocation.text)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
