"""`fracas serve`: the web process (HTTP, plus the Socket Mode connection when SLACK_APP_TOKEN
is set), which verifies, parses, enqueues and acks; and the worker processes it supervises."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from starlette.applications import Starlette

from bot.check import check_tokens
from bot.errors import ConfigError
from bot.http_guard import guarded
from bot.slack.app import build_app
from bot.slack.client import build_client
from bot.store.migrate import migrate
from bot.web import build_web
from bot.wiring import Deps
from bot.work.supervisor import Supervisor
from bot.work.worker import Limits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assembly:
    """The running parts: the HTTP app, and the socket connection in Socket Mode."""

    web: Starlette
    socket: AsyncSocketModeHandler | None

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close_async()


def assemble(deps: Deps, session: aiohttp.ClientSession) -> Assembly:
    """Refuse to start without the tokens this mode needs; otherwise wire Slack and HTTP."""
    settings = deps.settings
    tokens = check_tokens(settings)
    if not tokens.ok:
        raise ConfigError(list(tokens.problems))
    app = build_app(deps, build_client(settings, session))
    if settings.slack_app_token is not None:
        handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
        return Assembly(build_web(deps, None), handler)
    return Assembly(build_web(deps, app), None)


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
    """uvicorn re-raises SIGTERM once it stops, which would kill the process before its
    workers are drained; our loop handles the signals instead."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def tune_for_acks() -> None:
    """Collector pauses were most of the ack tail under load (bench/): keep start-up objects
    out of every collection and collect less often."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


async def serve(deps: Deps, workers: int = 1) -> None:
    """Serve until SIGTERM (Render's deploy signal), then stop the workers, each draining."""
    applied = await migrate(deps.jobs.store)
    if applied:
        log.info("store %s migrated to %s", deps.jobs.store.where, applied[-1])
    supervisor = Supervisor(workers, Limits.of(deps.settings).drain + 5)
    deps.nudge = supervisor.nudge
    async with aiohttp.ClientSession() as session:
        parts = assemble(deps, session)
        supervisor.start()
        try:
            await _serve(deps, parts)
        finally:
            await supervisor.stop()
            await deps.ctx.aclose()
            log.info("fracas stopped")


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
        await parts.close()
