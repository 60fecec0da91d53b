"""`logs <service> [env]`: a window of Render logs triaged into patterns, known failures named."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.params import POSITIONAL, EnvName, ServiceName
from bot.actions.registry import ActionContext, action
from bot.actions.targets import ago, now, target
from bot.durations import Duration, format_duration
from bot.folding import LEVELS, Event, Line
from bot.integrations.render import parse_time
from bot.patterns import BATCH, Cluster, rhythm, sparkline, triage
from bot.results import Attachment, StepResult, Table, Verdict

SHOWN = 10  # clusters in the table; the file has every line
EXAMPLE_CHARS = 160


class LogsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: Annotated[ServiceName, POSITIONAL] = Field(description="service name or srv- id")
    env: Annotated[EnvName | None, POSITIONAL] = Field(None, description="environment")
    since: Duration = Field(timedelta(hours=1), description="how far back")
    level: Literal["debug", "info", "warning", "error"] | None = Field(
        None, description="only this level and worse"
    )
    grep: str | None = Field(None, description="only events containing this text (any case)")
    limit: int = Field(2000, ge=1, le=20000, description="most lines to read, newest first")


@action("logs")
async def logs(ctx: ActionContext, params: LogsParams) -> StepResult:
    """Triage a service's logs into error patterns with diagnoses."""
    where = target(ctx, params.service, params.env)
    service = await ctx.render.service(where.render)
    end = now()
    start = end - params.since
    lines: list[Line] = []
    async for page in ctx.render.logs(service["ownerId"], service["id"], start, end, params.limit):
        lines += [line for line in map(_line, page) if line is not None]
    lines.sort(key=lambda line: line.at)
    clusters, kept = await triage(lines, lambda event: _wanted(event, params))
    title = f"Logs of {where.label}, last {format_duration(params.since)}"
    verdict, summary = _judge(clusters, kept, params, start, end)
    covered = start if len(lines) < params.limit or not lines else lines[0].at
    window = await _dump(lines)
    return StepResult(
        verdict=verdict,
        title=title,
        summary=summary,
        facts=(
            ("service", f"{service['name']} ({service['id']})"),
            ("lines read", _read(len(lines), params.limit, covered, end)),
            ("events kept", f"{kept:,}" + _filters(params)),
            ("patterns", f"{len(clusters):,}"),
        ),
        details=await pattern_table(clusters[:SHOWN], start, end),
        hints=_hints(clusters, len(lines), params),
        attachments=(Attachment(f"logs-{where.name}-{where.env or 'service'}.txt", window),),
        data={"clusters": [_json(c) for c in clusters[:50]], "lines": len(lines)},
    )


def _line(entry: dict[str, Any]) -> Line | None:
    """A log entry as a line; one without a time cannot be placed in the window."""
    labels = {label.get("name"): label.get("value", "") for label in entry.get("labels") or []}
    at = parse_time(entry.get("timestamp"))
    if at is None:
        return None
    return Line(
        at, str(entry.get("message", "")), labels.get("level", ""), labels.get("instance", "")
    )


def _wanted(event: Event, params: LogsParams) -> bool:
    if params.level and LEVELS.index(event.level) < LEVELS.index(params.level):
        return False
    return not params.grep or event.mentions(params.grep)


def _judge(
    clusters: list[Cluster], kept: int, params: LogsParams, start: datetime, end: datetime
) -> tuple[Verdict, str]:
    # counts are of log events (a folded traceback is one), not of crashes: `status` gives
    # Render's count of those, so the words say which is which
    window = format_duration(params.since)
    if not kept:
        return Verdict.OK, f"No log lines matched in the last {window}."
    top = clusters[0]
    if top.diagnosis is not None:
        when = rhythm(top.times, start, end)
        return Verdict.FAIL, (
            f"{top.diagnosis.name}: logged {top.count:,} times in {window}"
            + (f", {when}" if when else "")
            + f" ({top.example})"
        )
    errors = sum(c.count for c in clusters if LEVELS.index(c.level) >= LEVELS.index("error"))
    if errors:
        return Verdict.WARN, f"{errors:,} errors logged in {window}; most frequent: {top.example}"
    return Verdict.OK, f"No errors in {window}: {kept:,} events in {len(clusters):,} patterns."


def _read(count: int, limit: int, covered: datetime, end: datetime) -> str:
    if count < limit:
        return f"{count:,}"
    return f"{count:,} (the --limit; they reach back {format_duration(end - covered)})"


def _filters(params: LogsParams) -> str:
    parts = [f"level ≥ {params.level}"] * bool(params.level)
    parts += [f"containing '{params.grep}'"] * bool(params.grep)
    return f" ({', '.join(parts)})" if parts else ""


async def pattern_table(clusters: list[Cluster], start: datetime, end: datetime) -> Table:
    """A row per pattern; a big one takes a few ms to place in time, so yield between rows."""
    rows = []
    for c in clusters:
        rows.append(
            (
                f"{c.count:,}",
                c.level,
                ago(min(c.times), end),
                ago(max(c.times), end),
                sparkline(c.times, start, end),
                rhythm(c.times, start, end) or "-",
                cut(c.example),
            )
        )
        await asyncio.sleep(0)
    columns = ("count", "level", "first", "last", "when (old → new)", "rhythm", "pattern")
    return Table(columns, tuple(rows))


def _hints(clusters: list[Cluster], read: int, params: LogsParams) -> tuple[str, ...]:
    hints = list(dict.fromkeys(c.diagnosis.hint for c in clusters[:SHOWN] if c.diagnosis))
    if read >= params.limit:
        hints.append(
            f"Only the newest {read:,} lines were read: raise --limit (up to 20000) "
            "to cover the whole window."
        )
    return tuple(hints)


def cut(text: str, limit: int = EXAMPLE_CHARS) -> str:
    """One line of at most `limit` characters, for a table cell or a summary."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _dump(lines: list[Line]) -> str:
    """The whole window, oldest first, one line each (redacted with the rest of the result);
    written in batches, since 20,000 lines take longer than a loop should stall."""
    parts = []
    for start in range(0, len(lines), BATCH):
        parts += [
            f"{line.at.isoformat(timespec='milliseconds')} {line.instance} {line.level} "
            f"{line.message}\n"
            for line in lines[start : start + BATCH]
        ]
        await asyncio.sleep(0)
    return "".join(parts)


def _json(c: Cluster) -> dict[str, Any]:
    return {
        "signature": c.signature,
        "example": c.example,
        "count": c.count,
        "level": c.level,
        "first": min(c.times).isoformat(),
        "last": max(c.times).isoformat(),
        "diagnosis": c.diagnosis.name if c.diagnosis else None,
    }
