"""The upload pipeline's tables as incidents.md describes them, seeded in bulk by SQL so a test
(a few rows) and the benchmark (a million) build them the same way."""

from __future__ import annotations

SCHEMA = """
CREATE SCHEMA upload_pipeline;
CREATE TABLE upload_pipeline.upload_jobs (
    job_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status text,
    state text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    last_error text
);
CREATE TABLE upload_pipeline.documents (id bigserial PRIMARY KEY, name text);
CREATE TABLE upload_pipeline.document_chunks (id bigserial PRIMARY KEY, document_id bigint);
"""

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
        message = f"'{head.replace(chr(39), chr(39) * 2)}'" + (
            f" || i || '{tail.replace(chr(39), chr(39) * 2)}'" if "{i}" in error else ""
        )
    return (
        "INSERT INTO upload_pipeline.upload_jobs (status, state, created_at, updated_at, "
        f"last_error) SELECT {_text(status)}, {_text(state)}, "
        f"now() - interval '{age}' - interval '1 hour', "
        f"now() - interval '{age}' + interval '{spread}' * i / greatest({count}, 1), {message} "
        f"FROM generate_series(1, {count}) AS i;"
    )


def _text(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"
