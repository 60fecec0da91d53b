"""`stuck <env> [--older-than 1h]`: jobs that stopped moving, and what the jobs failed with.

The two queries of incidents.md §3, with table, columns and states from the catalog. The states
are written into the SQL as literals, not parameters: only then can the planner prove that a
partial index `WHERE state IN (...)` covers the query (reference §8). When the plan reads the
whole of a large table anyway, the result gives the index to create.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.database import DatabaseError, database, reading
from bot.actions.logs import cut, pattern_table
from bot.actions.params import POSITIONAL, CatalogDefault, EnvName, ServiceName
from bot.actions.registry import ActionContext, action
from bot.actions.targets import ago, now
from bot.config import JobsSpec
from bot.durations import Duration, format_duration
from bot.folding import Line, is_exception_line
from bot.integrations.postgres.session import ReadOnly
from bot.patterns import triage
from bot.results import StepResult, Table, Verdict

OLDEST = 10
ERROR_WINDOW = timedelta(hours=24)
MOST_ERRORS = 5000
ERROR_CHARS = 2000  # each end of a longer error: a traceback's head and its exception lines
LARGE = 50_000  # rows; below this a sequential scan is the planner's right choice
SHOWN_ERROR = 100


class StuckParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: Annotated[EnvName, POSITIONAL] = Field(description="environment")
    older_than: Annotated[Duration | None, CatalogDefault("jobs.stuck_after")] = Field(
        None, description="stuck after"
    )
    service: ServiceName | None = Field(None, description="read through this service's URL")


def ident(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Queries:
    """The SQL for one catalog `jobs:` section; identifiers quoted, states as literals."""

    def __init__(self, spec: JobsSpec) -> None:
        c = spec.columns
        self.table = ident(spec.table)
        self.states = ", ".join(literal(s) for s in spec.stuck_states)
        state, updated, error = ident(c.state), ident(c.updated), ident(c.error)
        text = f"{error}::text"
        ends = (  # a long traceback loses its middle frames, never the exception at its end
            f"CASE WHEN length({text}) > {2 * ERROR_CHARS} THEN left({text}, {ERROR_CHARS}) "
            f"|| E'\\n' || right({text}, {ERROR_CHARS}) ELSE {text} END"
        )
        stuck = f"{state} IN ({self.states}) AND {updated} < now() - $1::interval"
        self.counts = (
            f"SELECT {state}::text AS state, count(*) AS n, min({updated}) AS oldest "
            f"FROM {self.table} WHERE {stuck} GROUP BY 1 ORDER BY 1"
        )
        self.oldest = (
            f"SELECT {ident(c.id)}::text AS id, {state}::text AS state, "
            f"{ident(c.status)}::text AS status, {updated} AS updated, "
            f"{ends} AS error "
            f"FROM {self.table} WHERE {stuck} ORDER BY {updated} LIMIT {OLDEST}"
        )
        self.errors = (
            f"SELECT {updated} AS at, {ends} AS error "
            f"FROM {self.table} WHERE {error} IS NOT NULL AND {updated} > now() - $1::interval "
            f"ORDER BY {updated} DESC LIMIT {MOST_ERRORS}"
        )
        name = spec.table.rsplit(".", 1)[-1]
        self.index = (
            f"CREATE INDEX CONCURRENTLY {ident(name + '_stuck_idx')} ON {self.table} "
            f"({updated}) WHERE {state} IN ({self.states});"
        )
        self.error_index = (
            f"CREATE INDEX CONCURRENTLY {ident(name + '_errors_idx')} ON {self.table} "
            f"({updated}) WHERE {error} IS NOT NULL;"
        )


@action("stuck")
async def stuck(ctx: ActionContext, params: StuckParams) -> StepResult:
    """Stuck jobs and recent job errors."""
    spec = ctx.catalog.jobs
    after = params.older_than or spec.stuck_after
    source = await database(ctx, params.env, params.service)
    q = Queries(spec)
    try:
        async with reading(source) as ro:
            counts = await ro.fetch(q.counts, after)
            oldest = await ro.fetch(q.oldest, after) if counts else []
            errors = await ro.fetch(q.errors, ERROR_WINDOW)
            slow = await _scans(
                ro,
                spec.table,
                [(q.counts, after, q.index), (q.errors, ERROR_WINDOW, q.error_index)],
            )
    except DatabaseError as exc:
        return exc.result(f"Stuck jobs in {source.label}")
    at = now()
    clusters, _ = await triage(
        [Line(_aware(r["at"]), r["error"], "error") for r in errors]  # folded as logs are
    )
    stuck_n = sum(r["n"] for r in counts)
    per_state = ", ".join(f"{r['state']} {r['n']:,}" for r in counts)
    summary = (
        f"{stuck_n:,} jobs stuck over {format_duration(after)} ({per_state}), oldest "
        f"{ago(_aware(min(r['oldest'] for r in counts)), at)}"
        if counts
        else f"No jobs in {', '.join(spec.stuck_states)} for over {format_duration(after)}"
    )
    if errors:
        top = clusters[0]
        lead = f"including {top.diagnosis.name}" if top.diagnosis else "most often"
        summary += (
            f"; {len(errors):,}{'+' if len(errors) == MOST_ERRORS else ''} job errors in 24h, "
            f"{lead} ({top.count:,}): {cut(top.example, SHOWN_ERROR)}"
        )
    else:
        summary += "; no job errors in 24h"
    start = at - ERROR_WINDOW
    details: list[str] = []
    if oldest:
        details += ["Oldest stuck jobs:", *_jobs(oldest, at).lines(), ""]
    if clusters:
        details += [
            "Job errors, last 24 h:",
            *(await pattern_table(clusters[:10], start, at)).lines(),
        ]
    hints = [c.diagnosis.hint for c in clusters[:5] if c.diagnosis]
    hints += slow
    if counts:
        hints.append(
            f"The worker is not moving these jobs: `status {params.env}` and "
            f"`logs worker {params.env} --level error`."
        )
    return StepResult(
        Verdict.FAIL if counts else Verdict.WARN if errors else Verdict.OK,
        f"Stuck jobs in {source.label}",
        summary + ".",
        facts=(("table", spec.table), ("stuck after", format_duration(after))),
        details=tuple(details),
        hints=tuple(dict.fromkeys(hints)),
        data={
            "stuck": {r["state"]: r["n"] for r in counts},
            "errors_24h": len(errors),
            "patterns": {c.example: c.count for c in clusters[:10]},
        },
    )


async def _scans(ro: ReadOnly, table: str, plans: list[tuple[str, Any, str]]) -> list[str]:
    """An index to create for each query whose plan reads the whole of a large table."""
    rows = await ro.fetchval(
        "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)", table
    )
    if rows is None or rows < LARGE:
        return []
    advice = []
    for sql, arg, index in plans:
        plan = json.loads(await ro.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", arg))
        if _seq_scan(plan[0]["Plan"], table.rsplit(".", 1)[-1]):
            advice.append(
                f"The query reads all ~{rows:,} rows of {table}: {index} (run it outside a "
                "transaction, on a direct or session connection, with a raised statement_timeout)"
            )
    return advice


def _seq_scan(node: dict[str, Any], relation: str) -> bool:
    if "Seq Scan" in node.get("Node Type", "") and node.get("Relation Name") == relation:
        return True
    return any(_seq_scan(child, relation) for child in node.get("Plans", []))


def _jobs(rows: list[Any], at: datetime) -> Table:
    return Table(
        ("job", "state", "status", "updated", "last error"),
        tuple(
            (
                r["id"],
                r["state"],
                r["status"] or "-",
                ago(_aware(r["updated"]), at),
                cut(_last_line(r["error"] or "-"), SHOWN_ERROR),
            )
            for r in rows
        ),
    )


def _aware(moment: datetime) -> datetime:
    """A `timestamp without time zone` column is taken as UTC, as apps on Render write it."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _last_line(text: str) -> str:
    """A stored traceback is known by its exception line, the last one (Postgres' DETAIL and
    HINT lines may follow it); other text by its last line."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    exceptions = [line for line in lines if is_exception_line(line)]
    return (exceptions or lines or [text])[-1]
