"""One worker: claims up to `slots` jobs at a time and runs each in its own task.

Its leases are renewed together every few seconds along with its heartbeat. If renewing fails
for as long as a lease lasts, another worker may already have claimed its jobs, so it cancels
them itself: a job never runs twice at once. SIGTERM (a deploy) stops claiming, lets running
jobs finish within the drain window and hands the rest back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.config import Settings
from bot.store import workers
from bot.store.engine import STORE_ERRORS
from bot.store.jobs import Job, Jobs
from bot.store.wake import Wake

log = logging.getLogger(__name__)
Handler = Callable[[Job, Jobs], Awaitable[None]]


@dataclass(frozen=True)
class Limits:
    """How much one worker takes on (runbooks wait on the network: many fit in one process)
    and how long it may go silent; SIGTERM's drain must end inside Render's 30 s."""

    slots: int = 32
    lease: float = 20.0
    drain: float = 20.0

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.fracas_worker_slots, settings.fracas_job_lease, settings.fracas_drain_seconds
        )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


class Worker:
    def __init__(
        self,
        jobs: Jobs,
        handlers: Mapping[str, Handler],
        limits: Limits,
        wake_pipe: int | None = None,
    ) -> None:
        self.jobs, self.handlers, self.limits = jobs, handlers, limits
        self.id = worker_id()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._wake = Wake(jobs.store, wake_pipe)
        self._held_until = time.monotonic() + limits.lease

    def nudge(self) -> None:
        """New work was enqueued in this process: look now, not at the next poll."""
        self._wake()

    async def run(self, stopping: asyncio.Event) -> None:
        """Claim and run until `stopping` is set (or the supervising parent is gone), then
        drain."""
        await self._wake.start()
        keeper = asyncio.create_task(self._keep_leases())
        started = time.time()
        with contextlib.suppress(*STORE_ERRORS):
            await workers.beat(self.jobs.store, self.id, *self._where(), started)
        log.info("worker %s started (%d slots)", self.id, self.limits.slots)
        try:
            while not (stopping.is_set() or self._wake.orphaned.is_set()):
                await self._claim()
                waits = [
                    asyncio.create_task(self._wake.wait()),
                    asyncio.create_task(stopping.wait()),
                ]
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()
        finally:
            await self._drain()
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            with contextlib.suppress(*STORE_ERRORS):
                await workers.gone(self.jobs.store, self.id)
            await self._wake.close()
            log.info("worker %s stopped", self.id)

    def _where(self) -> tuple[str, int]:
        return socket.gethostname(), os.getpid()

    async def _claim(self) -> None:
        free = self.limits.slots - len(self._running)
        if free <= 0:
            return
        try:
            claimed = await self.jobs.claim(self.id, free, self.limits.lease)
        except STORE_ERRORS as exc:
            log.warning("cannot claim jobs, the store is unreachable: %s", exc)
            await asyncio.sleep(1)
            return
        for job in claimed:
            task = asyncio.create_task(self._run(job), name=f"job {job.id} {job.kind}")
            self._running[job.id] = task
            task.add_done_callback(functools.partial(self._done, job.id))

    def _done(self, job_id: int, _: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        self._wake()  # a slot is free: look for queued work at once

    async def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            await self.jobs.finish(job, "failed", f"no handler for job kind {job.kind!r}")
            return
        try:
            await handler(job, self.jobs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("job %d (%s) crashed", job.id, job.kind, exc_info=exc)
            await self.jobs.finish(job, "failed", f"{type(exc).__name__} in the job's handler")
            return
        await self.jobs.finish(job, "failed" if job.given_up else "done")

    async def _keep_leases(self) -> None:
        every = self.limits.lease / 4
        started = time.time()
        while True:
            await asyncio.sleep(every)
            try:
                await self.jobs.renew(self.id, self.limits.lease)
                await workers.beat(self.jobs.store, self.id, *self._where(), started)
                self._held_until = time.monotonic() + self.limits.lease
            except STORE_ERRORS as exc:
                log.warning("cannot renew leases, the store is unreachable: %s", exc)
                if time.monotonic() > self._held_until - every:
                    self._give_up_all()

    def _give_up_all(self) -> None:
        """Our leases are about to lapse: whoever claims the jobs next runs them, not us."""
        for task in list(self._running.values()):
            task.cancel()

    async def _drain(self) -> None:
        if not self._running:
            return
        log.info(
            "draining %d running job(s) for up to %.0f s", len(self._running), self.limits.drain
        )
        _, late = await asyncio.wait(set(self._running.values()), timeout=self.limits.drain)
        ids = [job_id for job_id, task in self._running.items() if task in late]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        with contextlib.suppress(*STORE_ERRORS):
            released = await self.jobs.release(self.id, ids)
            log.info("released %d job(s) for another worker", released)
