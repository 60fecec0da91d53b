"""`fracas serve`: the HTTP server, plus the Socket Mode connection when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from starlette.applications import Starlette

from bot.check import check_tokens
from bot.errors import ConfigError
from bot.slack_app import build_app, build_client
from bot.web import build_web
from bot.wiring import Deps

log = logging.getLogger(__name__)
DRAIN_SECONDS = 20


@dataclass(frozen=True)
class Assembly:
    """The running parts: the HTTP app, and the socket connection in Socket Mode."""

    web: Starlette
    socket: AsyncSocketModeHandler | None


def assemble(deps: Deps) -> Assembly:
    """Refuse to start without the tokens this mode needs; otherwise wire Slack and HTTP."""
    settings = deps.settings
    tokens = check_tokens(settings)
    if not tokens.ok:
        raise ConfigError(list(tokens.problems))
    app = build_app(deps, build_client(settings))
    if settings.slack_app_token is not None:
        handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
        return Assembly(build_web(deps, None), handler)
    return Assembly(build_web(deps, app), None)


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM once it stops, which would kill the process before running
    work is drained; our loop handles the signals instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(deps: Deps) -> None:
    """Serve until SIGTERM (Render's deploy signal), then let running work finish."""
    parts = assemble(deps)
    settings = deps.settings
    if parts.socket is not None:
        await parts.socket.connect_async()
        log.info("connected to Slack over Socket Mode")
    config = uvicorn.Config(
        parts.web,
        host=settings.fracas_host,
        port=settings.port,
        log_level="warning",
        lifespan="off",
    )
    server = _Server(config)
    gc.freeze()  # start-up objects live forever: keep them out of every full collection
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.handle_exit, sig, None)
    log.info("fracas listening on %s:%d", settings.fracas_host, settings.port)
    try:
        await server.serve()
    finally:
        if parts.socket is not None:
            await parts.socket.close_async()
        await deps.background.drain(DRAIN_SECONDS)
        log.info("fracas stopped")
