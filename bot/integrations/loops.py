"""One httpx client per event loop: connection pools belong to the loop that opened them, and
fracas runs actions on more than one (the console's, the Slack work loop)."""

from __future__ import annotations

import asyncio
import functools
import ssl
import threading
import weakref
from collections.abc import Callable

import certifi
import httpx


@functools.cache
def tls() -> ssl.SSLContext:
    """Loading the CA bundle takes about 40 ms: once per process, when the clients are built,
    instead of on an event loop each time a loop opens a client."""
    return ssl.create_default_context(cafile=certifi.where())


class PerLoop:
    """Builds a client lazily for the running loop; each loop closes its own."""

    def __init__(self, build: Callable[[], httpx.AsyncClient]) -> None:
        tls()
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
