"""The job queue: enqueue once per idempotency key, claim with a lease, renew it, finish.

Every write a worker makes to a job it holds is fenced by (worker, attempt): once its lease has
lapsed and another worker has claimed the job, the first one's late writes change nothing.
Claiming is one UPDATE over a `FOR UPDATE SKIP LOCKED` subquery: on PostgreSQL concurrent
claimers skip each other's rows; SQLite ignores the clause, and its write lock makes the one
statement atomic anyway.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.engine import Row

from bot.store.engine import Store
from bot.store.tables import jobs

State = Literal["queued", "running", "done", "failed"]
CHANNEL = "fracas_jobs"  # LISTEN/NOTIFY channel on PostgreSQL


@dataclass(frozen=True)
class Job:
    """A job as a worker holds it: `attempts` counts this claim too."""

    id: int
    kind: str
    key: str
    payload: str
    state: State
    attempts: int
    max_attempts: int
    worker: str | None
    lease_until: float | None
    requested_by: str
    summary: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    progress: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def rerun(self) -> bool:
        """An earlier attempt was interrupted (its worker died or was stopped)."""
        return self.attempts > 1

    @property
    def given_up(self) -> bool:
        """Claimed once more only to tell the user it was interrupted too often."""
        return self.attempts > self.max_attempts

    @classmethod
    def of(cls, row: Row[Any]) -> Job:
        values = dict(row._mapping)
        values["progress"] = json.loads(values["progress"] or "{}")
        return cls(**values)


class Jobs:
    """The queue's operations; `now` is taken from this process's clock."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def enqueue(
        self,
        kind: str,
        payload: BaseModel,
        key: str,
        *,
        requested_by: str = "",
        summary: str = "",
        max_attempts: int = 2,
    ) -> bool:
        """Insert the job unless its key is known; True if this call added it."""
        values = {
            "kind": kind,
            "key": key[:200],
            "payload": payload.model_dump_json(),
            "state": "queued",
            "attempts": 0,
            "max_attempts": max_attempts,
            "requested_by": requested_by[:120],
            "summary": summary[:200],
            "progress": "{}",
            "error": "",
            "created_at": time.time(),
        }
        statement = (
            self.store.insert(jobs).values(values).on_conflict_do_nothing(index_elements=["key"])
        )
        async with self.store.write() as conn:
            added = (await conn.execute(statement.returning(jobs.c.id))).first() is not None
            if added and self.store.postgres:
                await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
        return added

    async def claim(self, worker: str, limit: int, lease: float) -> list[Job]:
        """Up to `limit` jobs: queued ones, and running ones whose lease lapsed (their worker
        died), oldest first. A job past its last attempt is claimed once more to say so."""
        now = time.time()
        claimable = or_(
            jobs.c.state == "queued",
            and_(jobs.c.state == "running", jobs.c.lease_until < now),
        )
        chosen = (
            select(jobs.c.id)
            .where(claimable, jobs.c.attempts <= jobs.c.max_attempts)
            .order_by(jobs.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(jobs)
            .where(jobs.c.id.in_(chosen.scalar_subquery()))
            .values(
                state="running",
                worker=worker,
                attempts=jobs.c.attempts + 1,
                lease_until=now + lease,
                started_at=now,
            )
            .returning(*jobs.c)
        )
        async with self.store.write() as conn:
            rows = (await conn.execute(statement)).all()
            await conn.execute(self._abandoned(now))
        return sorted((Job.of(r) for r in rows), key=lambda j: j.id)

    def _abandoned(self, now: float) -> Any:
        """A job whose 'give up' notice itself was interrupted: failed, without another word."""
        return (
            update(jobs)
            .where(
                jobs.c.state == "running",
                jobs.c.lease_until < now,
                jobs.c.attempts > jobs.c.max_attempts,
            )
            .values(state="failed", finished_at=now, error="interrupted too often")
        )

    async def renew(self, worker: str, lease: float) -> int:
        """Extend the lease of every job this worker runs; returns how many it still holds."""
        statement = (
            update(jobs)
            .where(jobs.c.worker == worker, jobs.c.state == "running")
            .values(lease_until=time.time() + lease)
        )
        async with self.store.write() as conn:
            return (await conn.execute(statement)).rowcount

    async def remember(self, job: Job, **progress: Any) -> bool:
        """Record a side effect done (a message posted, its ts) before the next one, so a rerun
        goes on from there instead of doing it twice. False if the job is no longer ours."""
        merged = {**job.progress, **progress}
        job.progress.update(progress)
        return await self._fenced(job, progress=json.dumps(merged))

    async def finish(self, job: Job, state: State, error: str = "") -> bool:
        return await self._fenced(
            job, state=state, error=error, finished_at=time.time(), lease_until=None
        )

    async def _fenced(self, job: Job, **values: Any) -> bool:
        statement = (
            update(jobs)
            .where(
                jobs.c.id == job.id,
                jobs.c.worker == job.worker,
                jobs.c.attempts == job.attempts,
                jobs.c.state == "running",
            )
            .values(**values)
        )
        async with self.store.write() as conn:
            return (await conn.execute(statement)).rowcount == 1

    async def release(self, worker: str, ids: Sequence[int]) -> int:
        """Hand jobs back at once (a drain that ran out of time): another worker claims them
        without waiting for the lease, as the rerun of an interrupted job."""
        if not ids:
            return 0
        statement = (
            update(jobs)
            .where(jobs.c.worker == worker, jobs.c.state == "running", jobs.c.id.in_(ids))
            .values(lease_until=0.0)
        )
        async with self.store.write() as conn:
            return (await conn.execute(statement)).rowcount

    async def get(self, key: str) -> Job | None:
        async with self.store.read() as conn:
            row = (await conn.execute(select(jobs).where(jobs.c.key == key))).first()
        return Job.of(row) if row is not None else None

    async def recent(self, since: float, limit: int = 50) -> list[Job]:
        """Queued and running jobs, and those that ended after `since`, newest first."""
        statement = (
            select(jobs)
            .where(or_(jobs.c.state.in_(("queued", "running")), jobs.c.finished_at >= since))
            .order_by(jobs.c.id.desc())
            .limit(limit)
        )
        async with self.store.read() as conn:
            return [Job.of(r) for r in (await conn.execute(statement)).all()]
