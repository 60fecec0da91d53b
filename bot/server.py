"""`fracas serve`: the HTTP server, plus the Socket Mode connection when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from starlette.applications import Starlette

from bot.check import check_tokens
from bot.errors import ConfigError
from bot.http_guard import guarded
from bot.slack_app import build_app
from bot.slack_client import SlackPoster, build_client
from bot.web import build_web
from bot.wiring import Deps

log = logging.getLogger(__name__)
DRAIN_SECONDS = 20


@dataclass(frozen=True)
class Assembly:
    """The running parts: the HTTP app, the socket connection in Socket Mode, and the poster
    (which lives on the work loop)."""

    web: Starlette
    socket: AsyncSocketModeHandler | None
    poster: SlackPoster

    async def close(self, deps: Deps) -> None:
        """Stop taking commands, let running work finish, then close connections."""
        if self.socket is not None:
            await self.socket.close_async()
        await deps.background.drain(DRAIN_SECONDS)
        await deps.background.call(self.poster.close())
        await deps.background.call(deps.ctx.aclose())
        deps.background.stop()


def assemble(deps: Deps, session: aiohttp.ClientSession) -> Assembly:
    """Refuse to start without the tokens this mode needs; otherwise wire Slack and HTTP."""
    settings = deps.settings
    tokens = check_tokens(settings)
    if not tokens.ok:
        raise ConfigError(list(tokens.problems))
    poster = SlackPoster(settings)
    app = build_app(deps, build_client(settings, session), poster)
    if settings.slack_app_token is not None:
        handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
        return Assembly(build_web(deps, None), handler, poster)
    return Assembly(build_web(deps, app), None, poster)


def http_config(web: Starlette, host: str, port: int, **limits: float) -> uvicorn.Config:
    """uvicorn as fracas runs it: the guarded protocol (`http_guard`), idle keep-alive
    connections closed after 5 s, and its records through our (redacting) root handler."""
    return uvicorn.Config(
        web,
        host=host,
        port=port,
        http=guarded(**limits),  # type: ignore[arg-type]
        timeout_keep_alive=5,
        log_level="warning",
        log_config=None,
        lifespan="off",
    )


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM once it stops, which would kill the process before running
    work is drained; our loop handles the signals instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def tune_for_acks() -> None:
    """Collector pauses stop both threads and were most of the ack tail under load (bench/):
    keep start-up objects out of every collection and collect less often; and let the work
    thread hand the GIL to an ack within 1 ms instead of 5."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)
    sys.setswitchinterval(0.001)


async def serve(deps: Deps) -> None:
    """Serve until SIGTERM (Render's deploy signal), then let running work finish."""
    async with aiohttp.ClientSession() as session:
        await _serve(deps, assemble(deps, session))


async def _serve(deps: Deps, parts: Assembly) -> None:
    settings = deps.settings
    if parts.socket is not None:
        await parts.socket.connect_async()
        log.info("connected to Slack over Socket Mode")
    server = _Server(http_config(parts.web, settings.fracas_host, settings.port))
    tune_for_acks()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.handle_exit, sig, None)
    log.info("fracas listening on %s:%d", settings.fracas_host, settings.port)
    try:
        await server.serve()
    finally:
        await parts.close(deps)
        log.info("fracas stopped")
