"""The worker on a real store: how fast it wakes for new work (NOTIFY on PostgreSQL, the poll
on SQLite), that it gives its jobs up when it can no longer renew their leases, and that its
drain hands back what does not finish."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from pydantic import BaseModel
from sqlalchemy.engine import make_url

from bot.store.engine import Store, open_store
from bot.store.jobs import Job, Jobs
from bot.store.migrate import migrate
from bot.work.worker import Limits, Worker

from fakes.pg import TempDatabase


class Order(BaseModel):
    text: str


@contextlib.asynccontextmanager
async def working(worker: Worker) -> AsyncIterator[asyncio.Event]:
    stopping = asyncio.Event()
    task = asyncio.create_task(worker.run(stopping))
    try:
        yield stopping
    finally:
        stopping.set()
        await task


async def test_a_new_job_is_picked_up_at_once(store: Store) -> None:
    """On PostgreSQL well inside the 2 s poll (NOTIFY woke it), on SQLite within its 200 ms."""
    started: asyncio.Queue[float] = asyncio.Queue()

    async def note(job: Job, jobs: Jobs) -> None:
        started.put_nowait(time.monotonic())

    worker = Worker(Jobs(store), {"k": note}, Limits(slots=4, lease=5, drain=1))
    other = open_store(str(store.url.render_as_string(hide_password=False)))
    try:
        async with working(worker):
            await asyncio.sleep(0.3)  # idle: waiting on NOTIFY or between polls
            delays = []
            for n in range(3):
                queued = time.monotonic()
                await Jobs(other).enqueue("k", Order(text="x"), f"wake{n}")
                delays.append(await asyncio.wait_for(started.get(), 5) - queued)
    finally:
        await other.close()
    assert max(delays) < (0.5 if store.postgres else 0.35), delays


async def test_a_worker_that_cannot_renew_its_leases_gives_its_jobs_up(
    pg_admin: str,
) -> None:
    """The store goes away under a running job (a proxy in front of it is closed): the worker
    cancels the job before its lease lapses, so whoever claims it next is the only one."""
    cancelled = asyncio.Event()

    async def long(job: Job, jobs: Jobs) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with TempDatabase(pg_admin) as db:
        async with Proxy(db.url) as proxy:
            store = open_store(proxy.url)
            await migrate(store)
            await Jobs(store).enqueue("k", Order(text="x"), "long")
            worker = Worker(Jobs(store), {"k": long}, Limits(slots=1, lease=2, drain=1))
            async with working(worker):
                await asyncio.sleep(0.5)  # claimed and running
                await proxy.cut()
                cut = time.monotonic()
                await asyncio.wait_for(cancelled.wait(), 5)
                given_up = time.monotonic() - cut
            await store.close()
    assert given_up < 2  # before the lease (2 s) could lapse


async def test_a_drain_hands_back_what_does_not_finish(store: Store) -> None:
    async def quick(job: Job, jobs: Jobs) -> None:
        await asyncio.sleep(0.05)

    async def slow(job: Job, jobs: Jobs) -> None:
        await asyncio.sleep(60)

    jobs = Jobs(store)
    await jobs.enqueue("quick", Order(text="q"), "q")
    await jobs.enqueue("slow", Order(text="s"), "s")
    worker = Worker(jobs, {"quick": quick, "slow": slow}, Limits(slots=4, lease=60, drain=0.5))
    async with working(worker):
        await asyncio.sleep(0.3)
    quick_job, slow_job = await jobs.get("q"), await jobs.get("s")
    assert quick_job is not None and quick_job.state == "done"
    assert slow_job is not None and slow_job.state == "running"
    (again,) = await jobs.claim("next", 5, lease=60)  # at once: the lease was handed back
    assert again.key == "s" and again.rerun


class Proxy:
    """A TCP relay to the database that can be cut, as a network partition would."""

    def __init__(self, url: str) -> None:
        self.target = make_url(url)
        self._server: asyncio.Server | None = None
        self._pipes: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        moved = self.target.set(host="127.0.0.1", port=port)
        return moved.render_as_string(hide_password=False)

    async def __aenter__(self) -> Proxy:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.cut()

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._pipes:
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(
            self.target.host, self.target.port or 5432
        )
        self._pipes += [writer, up_writer]

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
