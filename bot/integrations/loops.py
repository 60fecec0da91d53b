"""One httpx client per event loop: connection pools belong to the loop that opened them, and
fracas runs actions on more than one (the console's, the Slack work loop)."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable

import httpx


class PerLoop:
    """Builds a client lazily for the running loop; each loop closes its own."""

    def __init__(self, build: Callable[[], httpx.AsyncClient]) -> None:
        self._build = build
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.get(loop)
            if client is None:
                client = self._clients[loop] = self._build()
        return client

    async def aclose(self) -> None:
        with self._lock:
            client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
