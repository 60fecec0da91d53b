"""`jobs`: what the workers are doing: queued, running and recently ended jobs, who asked for
each and how long it has taken. The bot's own health, readable in Slack and at a terminal."""

from __future__ import annotations

import time
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError

from bot.actions.registry import ActionContext, action
from bot.durations import Duration, format_age, format_duration
from bot.errors import FracasError
from bot.results import StepResult, Table, Verdict
from bot.store.jobs import Job

SLOW_START = 60.0  # seconds queued before it says the workers are not keeping up
TITLE = "Jobs"


class JobsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: Duration = Field(timedelta(hours=1), description="how far back ended jobs are shown")


@action("jobs")
async def jobs(ctx: ActionContext, params: JobsParams) -> StepResult:
    """Queued, running and recently failed jobs, with who asked and how long each took."""
    if ctx.jobs is None:
        return StepResult(Verdict.INFO, TITLE, "No store is open here, so there are no jobs.")
    store = ctx.jobs.store
    if store.absent:
        return StepResult(
            Verdict.INFO, TITLE, f"No store at {store.where} yet: nothing was queued here."
        )
    try:
        listed = await ctx.jobs.recent(since=time.time() - params.since.total_seconds())
    except DBAPIError as exc:
        raise FracasError(
            f"Cannot read the store at {store.where}: {type(exc.orig).__name__}.",
            "`fracas migrate` sets up a new store; `fracas check` tests the connection.",
        ) from None
    return _summary(listed, params.since)


def _summary(listed: list[Job], since: timedelta) -> StepResult:
    now = time.time()
    count = {s: sum(j.state == s for j in listed) for s in ("queued", "running", "done", "failed")}
    late = [j for j in listed if j.state == "queued" and now - j.created_at > SLOW_START]
    parts = [f"{n} {state}" for state, n in count.items() if n]
    window = format_duration(since)
    summary = (", ".join(parts) or "nothing queued or running") + f" (ended: last {window})"
    hints = []
    if late:
        hints.append(
            f"{len(late)} job(s) waited over {SLOW_START:.0f} s: no worker is free or running "
            "(`/healthz` says which)."
        )
    if count["failed"]:
        hints.append("A failed job says why in its row; the bot's log has the details.")
    verdict = Verdict.WARN if late or count["failed"] else Verdict.OK if listed else Verdict.INFO
    rows = tuple(_row(j, now) for j in listed)
    columns = ("job", "state", "command", "asked by", "took", "notes")
    return StepResult(
        verdict,
        TITLE,
        summary,
        facts=tuple((state, str(n)) for state, n in count.items()),
        details=Table(columns, rows),
        hints=tuple(hints),
        data={"jobs": [_json(j) for j in listed]},
    )


def _row(job: Job, now: float) -> tuple[str, ...]:
    return (f"#{job.id}", job.state, job.summary, job.requested_by, _took(job, now), _notes(job))


def _took(job: Job, now: float) -> str:
    """Queued: how long it has waited; running: so far; ended: start to end."""
    start = job.started_at if job.started_at is not None else job.created_at
    end = job.finished_at if job.finished_at is not None else now
    took = format_age(timedelta(seconds=end - start))
    return f"waiting {took}" if job.state == "queued" else took


def _notes(job: Job) -> str:
    notes = []
    if job.attempts > 1:
        notes.append(f"attempt {min(job.attempts, job.max_attempts)} of {job.max_attempts}")
    if job.state == "running" and job.worker:
        notes.append(f"on {job.worker}")
    if job.error:
        notes.append(job.error)
    return "; ".join(notes)


def _json(job: Job) -> dict[str, object]:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "command": job.summary,
        "requested_by": job.requested_by,
        "attempts": job.attempts,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error": job.error,
    }
