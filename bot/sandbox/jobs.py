"""The upload pipeline's tables as incidents.md describes them, seeded in bulk by SQL so the
sandbox's projects, a test (a few rows) and the benchmark (a million) build them the same way."""

from __future__ import annotations

JOBS_TABLE = """
CREATE SCHEMA upload_pipeline;
CREATE TABLE upload_pipeline.upload_jobs (
    job_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status text,
    state text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_error text
);
"""
DOCUMENTS_TABLE = "CREATE TABLE upload_pipeline.documents (id bigserial PRIMARY KEY, name text);"
CHUNKS_TABLE = (
    "CREATE TABLE upload_pipeline.document_chunks (id bigserial PRIMARY KEY, document_id bigint);"
)
SCHEMA = JOBS_TABLE + DOCUMENTS_TABLE + CHUNKS_TABLE

PARTIAL_INDEX = (
    "CREATE INDEX upload_jobs_stuck_idx ON upload_pipeline.upload_jobs (updated_at) "
    "WHERE state IN ('queued', 'working')"
)


def jobs(
    count: int,
    state: str,
    age: str,
    *,
    status: str | None = None,
    error: str | None = None,
    spread: str = "0 seconds",
) -> str:
    """INSERT `count` jobs last updated `age` ago, spread evenly over the following `spread`.

    `error` may use `{i}` for the row number, so messages vary the way real ones do.
    """
    message = "NULL"
    if error is not None:
        head, _, tail = error.partition("{i}")
        message = text(head) + (f" || i || {text(tail)}" if "{i}" in error else "")
    return (
        "INSERT INTO upload_pipeline.upload_jobs (status, state, created_at, updated_at, "
        f"last_error) SELECT {text(status)}, {text(state)}, "
        f"now() - interval '{age}' - interval '1 hour', "
        f"now() - interval '{age}' + interval '{spread}' * i / greatest({count}, 1), {message} "
        f"FROM generate_series(1, {count}) AS i;"
    )


def job(job_id: str, state: str, age: str, *, status: str | None = None) -> str:
    """INSERT one job by its id, created and last updated `age` ago (a job the logs name)."""
    return (
        "INSERT INTO upload_pipeline.upload_jobs (job_id, status, state, created_at, "
        f"updated_at) VALUES ({text(job_id)}, {text(status)}, {text(state)}, "
        f"now() - interval '{age}', now() - interval '{age}');"
    )


def text(value: str | None) -> str:
    """A SQL string literal (NULL for None)."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"
