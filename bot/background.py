"""The slow half of every command runs on its own event loop, in a worker thread.

Acks are the server loop's only job: when twenty runbooks fan out hundreds of HTTP calls and
render their reports, those callbacks queue on the work loop, not in front of the next ack. The
GIL still shares the CPU, but the server thread gets it back within one switch interval.
Whatever runs here must create its own clients here (aiohttp and httpx clients belong to the
loop that opened them).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Background:
    """Starts its loop on first use; tracks what runs, logs crashes, drains at shutdown."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._running: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()

    def _work_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="fracas-work", daemon=True
                )
                self._thread.start()
            return self._loop

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> concurrent.futures.Future[Any]:
        """Fire and track: the caller goes on at once; a crash is logged with `name`."""
        future = asyncio.run_coroutine_threadsafe(work, self._work_loop())
        with self._lock:
            self._running.add(future)
        future.add_done_callback(lambda f: self._finished(f, name))
        return future

    async def call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run on the work loop and wait for the result from the calling loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._work_loop()))

    def _finished(self, future: concurrent.futures.Future[Any], name: str) -> None:
        with self._lock:
            self._running.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("background task %s failed", name, exc_info=future.exception())

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    async def drain(self, timeout: float) -> None:
        """Let running work finish (a deploy restart should not drop a half-posted result)."""
        with self._lock:
            pending = [asyncio.wrap_future(f) for f in self._running]
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            for future in late:
                future.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def stop(self) -> None:
        with self._lock:
            loop, thread, self._loop = self._loop, self._thread, None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
