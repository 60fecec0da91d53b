"""`stuck`: FM-028's two hand-run queries as one command, on a real jobs table."""

from __future__ import annotations

import asyncpg
import pytest

from bot.config import Catalog
from bot.results import Verdict
from bot.sandbox.jobs import PARTIAL_INDEX, SCHEMA, jobs

from conftest import db_context, everything_shown, run
from fakes.pg import TempDatabase, run_sql

TOKEN = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2


@pytest.fixture
def pipeline(tempdb: TempDatabase) -> str:
    run_sql(
        tempdb.url,
        SCHEMA
        + jobs(3, "working", "5 hours", status="parsing", error=f"LlamaParse 401 with key {TOKEN}")
        + jobs(2, "queued", "2 hours")
        + jobs(4, "working", "10 minutes")
        + jobs(
            30,
            "failed",
            "6 hours",
            spread="5 hours",
            error="webhook for job {i} timed out after 30 s",
        )
        + jobs(
            5,
            "failed",
            "3 hours",
            error='relation "upload_pipeline.document_chunks" does not exist',
        )
        + jobs(50, "done", "1 hour"),
    )
    return tempdb.url


async def test_stuck_jobs_by_state_with_the_oldest_and_the_errors_grouped(pipeline: str) -> None:
    result = await run(db_context(pipeline), "stuck production")
    assert result.verdict is Verdict.FAIL
    assert result.summary.startswith(
        "5 jobs stuck over 1h (queued 2, working 3), oldest 5h ago; 38 job errors in 24h, "
        'including a table is missing (5): relation "upload_pipeline.document_chunks" does not'
    )
    patterns = result.data["patterns"]
    assert sorted(patterns.values()) == [3, 5, 30]
    assert "LlamaParse 401 with key [secret " in " ".join(patterns)
    text = "\n".join(result.details)
    oldest = text.split("Job errors, last 24 h:")[0]
    assert oldest.index("working  parsing") < oldest.index("queued")
    assert "LlamaParse 401 with key [secret " in text
    errors = text.split("Job errors, last 24 h:\n")[1].splitlines()
    assert errors[1].split()[0] == "5" and "does not exist" in errors[1]
    assert errors[2].split()[0] == "30" and "every ~10m" in errors[2]
    assert any("run `schema <env>`" in h for h in result.hints)
    assert result.data["stuck"] == {"queued": 2, "working": 3}
    assert TOKEN not in everything_shown(result)


async def test_the_threshold_comes_from_the_command_or_the_catalog(pipeline: str) -> None:
    result = await run(db_context(pipeline), "stuck production --older-than 3h")
    assert result.summary.startswith("3 jobs stuck over 3h (working 3)")
    result = await run(db_context(pipeline), "stuck production --older-than 6h")
    assert result.verdict is Verdict.WARN
    assert result.summary.startswith("No jobs in queued, working for over 6h; 38 job errors")


async def test_a_quiet_queue_is_ok(tempdb: TempDatabase) -> None:
    run_sql(tempdb.url, SCHEMA + jobs(10, "done", "2 hours") + jobs(2, "working", "1 minute"))
    result = await run(db_context(tempdb.url), "stuck production")
    assert result.verdict is Verdict.OK
    assert result.summary == "No jobs in queued, working for over 1h; no job errors in 24h."


async def test_table_columns_and_states_come_from_the_catalog(tempdb: TempDatabase) -> None:
    run_sql(
        tempdb.url,
        "CREATE TABLE tasks (id bigserial, phase text, info text, touched timestamp, err text);"
        "INSERT INTO tasks (phase, info, touched, err) "
        "SELECT 'running', 'x', now() AT TIME ZONE 'UTC' - interval '3 hours', NULL "
        "FROM generate_series(1, 4);",
    )
    catalog = Catalog.model_validate(
        {
            "environments": {"production": {"database_url": tempdb.url}},
            "jobs": {
                "table": "tasks",
                "columns": {
                    "id": "id",
                    "state": "phase",
                    "status": "info",
                    "updated": "touched",
                    "error": "err",
                },
                "stuck_states": ["running", "it's odd"],
                "stuck_after": "2h",
            },
        }
    )
    ctx = db_context(tempdb.url)
    ctx = type(ctx)(catalog, ctx.actions, resolver=ctx.resolver)
    result = await run(ctx, "stuck production")
    assert result.summary.startswith("4 jobs stuck over 2h (running 4), oldest 3h ago")


async def test_a_wrong_column_in_the_catalog_is_named(tempdb: TempDatabase) -> None:
    run_sql(tempdb.url, SCHEMA + "ALTER TABLE upload_pipeline.upload_jobs DROP COLUMN last_error;")
    result = await run(db_context(tempdb.url), "stuck production")
    assert "A column is missing" in result.summary
    assert "jobs.columns" in result.summary


async def test_a_missing_table_is_named(tempdb: TempDatabase) -> None:
    result = await run(db_context(tempdb.url), "stuck production")
    assert "A table is missing" in result.summary and "schema <env>" in result.summary


async def test_a_role_without_usage_is_told_what_to_grant(tempdb: TempDatabase) -> None:
    run_sql(tempdb.url, SCHEMA)
    role = tempdb.role("fracas_reader")
    result = await run(db_context(tempdb.url_as(role)), "stuck production")
    assert "permission denied for schema upload_pipeline" in result.summary
    assert f"Grant the role {role} USAGE" in result.summary


async def test_a_table_locked_by_a_migration_fails_fast(pipeline: str) -> None:
    holder = await asyncpg.connect(pipeline)
    try:
        await holder.execute("BEGIN; LOCK TABLE upload_pipeline.upload_jobs")
        result = await run(db_context(pipeline), "stuck production")
    finally:
        await holder.close()
    assert "something holds a lock on the table" in result.summary


async def test_a_full_scan_of_a_large_table_suggests_the_partial_index(pipeline: str) -> None:
    run_sql(pipeline, jobs(60_000, "done", "2 days", spread="1 day") + "ANALYZE;")
    result = await run(db_context(pipeline), "stuck production")
    advice = [h for h in result.hints if "upload_jobs_stuck_idx" in h]
    assert advice and "CREATE INDEX CONCURRENTLY" in advice[0]
    assert "WHERE \"state\" IN ('queued', 'working')" in advice[0]

    run_sql(pipeline, PARTIAL_INDEX + ";ANALYZE;")
    result = await run(db_context(pipeline), "stuck production")
    assert not [h for h in result.hints if "upload_jobs_stuck_idx" in h]
    assert result.summary.startswith("5 jobs stuck over 1h")


async def test_a_long_stored_traceback_is_known_by_its_exception(tempdb: TempDatabase) -> None:
    """Apps store the whole traceback in last_error. A long one keeps its head and its end
    (its middle frames go), so the exception at the end is what is grouped and named."""
    frames = "".join(
        f'  File "/opt/render/project/src/worker/step_{n}.py", line {n}, in run\n'
        f"    await step_{n}(job)\n"
        for n in range(120)
    )
    error = (
        "Traceback (most recent call last):\n" + frames + "asyncpg.exceptions."
        "DeadlockDetectedError: deadlock detected\nDETAIL:  Process 11109 waits for ShareLock"
    )
    assert len(error) > 8000
    run_sql(
        tempdb.url,
        SCHEMA
        + jobs(3, "working", "5 hours", error=error)
        + jobs(4, "failed", "2 hours", error=error),
    )
    result = await run(db_context(tempdb.url), "stuck production")
    assert "including two transactions deadlocked" in result.summary, result.summary
    oldest = "\n".join(result.details).split("Job errors, last 24 h:")[0]
    assert "DeadlockDetectedError: deadlock detected" in oldest  # not its DETAIL line
