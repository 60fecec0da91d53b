"""`fracas worker`: one worker process. It opens the store (migrating it if this is the first
process to start), posts to Slack through the shared pace, and runs until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from bot.errors import ConfigError, Problem
from bot.slack.client import SlackPoster
from bot.slack.pacing import Pace
from bot.slack.work import SlackWork
from bot.store.migrate import migrate
from bot.wiring import Deps
from bot.work.supervisor import WAKE_FD
from bot.work.worker import Limits, Worker

NICENESS = 5  # acks are served by the web process: on a shared CPU, it goes first


def build_worker(deps: Deps, poster: SlackPoster) -> Worker:
    """`FRACAS_WAKE_FD` is the pipe a supervising `fracas serve` hands its workers."""
    pipe = os.environ.get(WAKE_FD)
    limits = Limits.of(deps.settings)
    handlers = SlackWork(deps.ctx, poster, deps.sealer).handlers()
    return Worker(deps.jobs, handlers, limits, int(pipe) if pipe and pipe.isdigit() else None)


async def run_worker(deps: Deps) -> None:
    if deps.settings.slack_bot_token is None:
        raise ConfigError([Problem("SLACK_BOT_TOKEN", "not set: a worker posts results with it")])
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    await migrate(deps.jobs.store)
    poster = SlackPoster(deps.settings, Pace(deps.jobs.store))
    worker = build_worker(deps, poster)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await worker.run(stopping)
    finally:
        await poster.close()
        await deps.ctx.aclose()
