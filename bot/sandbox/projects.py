"""The stack's two Supabase projects as real PostgreSQL servers, one each (a project is its own
server, with its own database `postgres`), in the states the incidents left them:

- staging, FM-028 (incidents.md §3): documents stuck half-processed, the LlamaParse webhook
  handler deadlocking on the jobs it updates now and then, lock timeouts behind it.
- production, FM-030 with incident 4 behind it: the migration that adds
  `upload_pipeline.document_chunks` never ran there, so the worker's jobs failed on the missing
  table until it stopped taking jobs at all; since then the API's uploads wait in the queue
  (the jobs its log names, 3f9c2a1e and 7be04d55). The API, which reads jobs and documents,
  stays healthy.

Each project has Supavisor's user `postgres.<ref>` with the password its services' URLs carry,
and owns the upload pipeline's tables. One schedule of jobs per project makes both the rows and
the lines their failures left in the services' logs, so `stuck` and `logs` tell one story.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .database import Cluster, clusters
from .fm030 import Project, Stack
from .jobs import DOCUMENTS_TABLE, JOBS_TABLE, SCHEMA, job, jobs, text
from .render_api import FakeRender

ENVIRONMENTS = ("staging", "production")
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
# What the webhook handler stores in last_error: the exception's class and text, one line.
DEADLOCK = (
    "DeadlockDetectedError: deadlock detected: process 48213 waits for ShareLock on "
    "transaction 9183{i}; blocked by process 48377"
)
LOCK_TIMEOUT = "LockNotAvailableError: canceling statement due to lock timeout"
WEBHOOK_TIMEOUT = "LlamaParse webhook for job {i}: handler timed out after 30 s"
# What the worker stores: the traceback, known by its last line.
NO_CHUNKS = (
    "Traceback (most recent call last):\n"
    '  File "/opt/render/project/src/worker/chunks.py", line 41, in store_chunks\n'
    "    await con.copy_records_to_table('document_chunks', records=rows)\n"
    "asyncpg.exceptions.UndefinedTableError: "
    'relation "upload_pipeline.document_chunks" does not exist'
)
WEBHOOK_LOG = "LlamaParse webhook parse_complete failed: {error}"
WORKER_LOG = "Job failed: {error}"


@dataclass(frozen=True)
class Batch:
    """`count` jobs last updated from `age` ago over the following `spread`; a failure is also
    logged by the service that met it (`log`: logical name, and the line's format)."""

    count: int
    state: str
    age: timedelta
    spread: timedelta = timedelta(0)
    status: str | None = None
    error: str | None = None
    log: tuple[str, str] | None = None

    def sql(self) -> str:
        return jobs(
            self.count,
            self.state,
            f"{self.age.total_seconds():.0f} seconds",
            status=self.status,
            error=self.error,
            spread=f"{self.spread.total_seconds():.0f} seconds",
        )

    def lines(self, now: datetime) -> list[tuple[datetime, str, str]]:
        """The log lines, at the times `jobs` gives the rows."""
        if self.log is None or self.error is None:
            return []
        form = self.log[1]
        last = self.error.strip().splitlines()[-1]
        return [
            (
                now - self.age + self.spread * i / self.count,
                "error",
                form.format(error=last.replace("{i}", str(i))),
            )
            for i in range(1, self.count + 1)
        ]


WEBHOOK = ("api", WEBHOOK_LOG)
STAGING = (
    Batch(300, "done", 24 * HOUR, 23 * HOUR, "complete"),
    Batch(3, "working", 4 * MINUTE, status="parsing"),  # moving
    Batch(5, "working", 8 * HOUR, 6 * HOUR, "parsing", DEADLOCK, WEBHOOK),  # stuck
    Batch(2, "queued", 3 * HOUR, 90 * MINUTE, None, LOCK_TIMEOUT, WEBHOOK),  # stuck
    Batch(22, "failed", 13 * HOUR, 2 * HOUR, None, DEADLOCK, WEBHOOK),  # the evening peak
    Batch(12, "failed", 4 * HOUR, HOUR, None, DEADLOCK, WEBHOOK),  # and this afternoon's
    Batch(12, "failed", 12 * HOUR, 10 * HOUR, None, LOCK_TIMEOUT, WEBHOOK),
    Batch(7, "failed", 20 * HOUR, 18 * HOUR, None, WEBHOOK_TIMEOUT, WEBHOOK),
)
PRODUCTION = (
    Batch(180, "done", 7 * 24 * HOUR, 6 * 24 * HOUR, "complete"),
    Batch(23, "failed", 21 * HOUR, 20 * HOUR, "chunking", NO_CHUNKS, ("worker", WORKER_LOG)),
    Batch(2, "queued", 66 * MINUTE, 5 * MINUTE),  # stuck since the worker went down
)
SCHEDULES = {"staging": STAGING, "production": PRODUCTION}
TABLES = {"staging": SCHEMA, "production": JOBS_TABLE + DOCUMENTS_TABLE}  # never CHUNKS_TABLE
NAMED = {  # production's jobs the API's log names
    "production": (
        job("3f9c2a1e-5b7d-4c1a-9e42-8d0f6a3b2c71", "queued", "47 minutes"),
        job("7be04d55-0c3e-4f8b-a1d6-2e9b7c4f5a10", "queued", "12 minutes"),
    )
}


@contextmanager
def project_servers() -> Iterator[dict[str, Cluster]]:
    """One server per environment, started, not yet seeded (`seed` makes the stack's users;
    the stack records the servers' ports, where the sandbox's resolver forwards its URLs)."""
    with clusters(len(ENVIRONMENTS)) as made:
        yield dict(zip(ENVIRONMENTS, made, strict=True))


def seed(server: Cluster, project: Project) -> None:
    """The project's pooler user, owner of the upload pipeline in the environment's state."""
    user = '"' + project.pooler_user.replace('"', '""') + '"'
    rows = "".join([b.sql() for b in SCHEDULES[project.env]] + list(NAMED.get(project.env, ())))
    server.execute(
        f"CREATE ROLE {user} LOGIN PASSWORD {text(project.password)};"
        f"GRANT CREATE ON DATABASE postgres TO {user};",
        f"SET ROLE {user};{TABLES[project.env]}{rows}RESET ROLE;",
    )


def add_logs(fake: FakeRender, stack: Stack, now: datetime | None = None) -> None:
    """The lines the seeded failures left in the services' logs (FM-030's own are there)."""
    now = now or datetime.now(UTC)
    names = {"api": "api-service", "worker": "upload-worker"}
    for env, batches in SCHEDULES.items():
        for batch in batches:
            if batch.log is not None:
                service = stack.services[f"{names[batch.log[0]]}-{env}"]
                fake.add_logs(service["id"], batch.lines(now))
