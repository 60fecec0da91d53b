"""How an idle worker learns of new work without busy polling: PostgreSQL's LISTEN/NOTIFY
(every enqueue notifies), else a short poll; a supervised worker is also woken through a pipe
from its parent after each enqueue. Leases that lapse notify nobody, so a slower poll still
runs on PostgreSQL.

The pipe doubles as the parent's pulse: when the parent dies (even by SIGKILL), the pipe reads
end-of-file, and the worker drains and exits instead of running on as an orphan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

import asyncpg

from bot.store.engine import Store
from bot.store.jobs import CHANNEL

log = logging.getLogger(__name__)
SQLITE_POLL = 0.2
POSTGRES_POLL = 2.0  # for lapsed leases; new work arrives by NOTIFY


class Wake:
    """`wait()` returns on new work, a nudge, or the poll interval; `orphaned` is set once the
    parent's pipe closes."""

    def __init__(self, store: Store, pipe: int | None = None) -> None:
        self.store, self.pipe = store, pipe
        self.poll = POSTGRES_POLL if store.postgres else SQLITE_POLL
        self.orphaned = asyncio.Event()
        self._event = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    def __call__(self, *_: Any) -> None:
        self._event.set()

    async def start(self) -> None:
        if self.pipe is not None:
            os.set_blocking(self.pipe, False)
            asyncio.get_running_loop().add_reader(self.pipe, self._read_pipe)
        if self.store.postgres:
            await self._listen()

    def _read_pipe(self) -> None:
        assert self.pipe is not None
        try:
            data = os.read(self.pipe, 4096)
        except BlockingIOError:
            return
        if not data:
            asyncio.get_running_loop().remove_reader(self.pipe)
            log.warning("the supervising process is gone: draining and stopping")
            self.orphaned.set()
        self._event.set()

    async def _listen(self) -> None:
        """One connection of its own holds the LISTEN; if it cannot, polling still works."""
        url = self.store.url.set(drivername="postgresql")
        try:
            self._listener = await asyncpg.connect(url.render_as_string(hide_password=False))
            await self._listener.add_listener(CHANNEL, self)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("LISTEN %s failed, polling instead: %s", CHANNEL, exc)
            self.poll = SQLITE_POLL

    async def wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), self.poll)
        self._event.clear()

    async def close(self) -> None:
        if self.pipe is not None and not self.orphaned.is_set():
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self.pipe)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
