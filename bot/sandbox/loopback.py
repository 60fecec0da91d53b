"""An aiohttp server on its own loop in a daemon thread: serves sync tests, async tests on any
loop, and subprocesses alike. Fakes subclass it and add their routes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, Self, TypeVar

from aiohttp import web

T = TypeVar("T")


class LoopbackServer:
    """Binds 127.0.0.1 on a free port, so fakes never collide and tests can run in parallel."""

    def __init__(self) -> None:
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def before_cleanup(self) -> None:
        """Close long-lived connections (websockets) before the server goes away."""

    def start(self) -> Self:
        """Start the loop thread and the server; returns once it is listening."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        port = self.on_loop(self._serve()).result(timeout=10)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self.on_loop(self._shutdown()).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def on_loop(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run a coroutine on the fake's own loop; returns a concurrent Future."""
        assert self._loop is not None, "start() the fake first"
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    async def _serve(self) -> int:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        await self.before_cleanup()
        if self._runner is not None:
            await self._runner.cleanup()
