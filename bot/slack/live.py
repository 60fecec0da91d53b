"""A runbook in Slack: one message, posted as the run starts and edited as steps finish (at
most about once a second); the job then replaces it with the report (work.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from bot.present.slack import render_progress
from bot.redact import Redactor
from bot.runbooks.runner import Run
from bot.slack.client import SlackPoster

INTERVAL = 1.0  # seconds between edits of one message (chat.update is Tier 3, ~50/min)
Posted = Callable[[str], Awaitable[None]]


class LiveMessage:
    """Follows one run; `changed` is the runner's listener. `ts` is the message of an earlier,
    interrupted attempt, edited instead of posting another; `posted` records a new one's ts."""

    def __init__(
        self,
        poster: SlackPoster,
        channel: str,
        origin: str,
        redactor: Redactor,
        ts: str | None,
        posted: Posted,
    ) -> None:
        self.poster, self.channel, self.origin, self.redactor = poster, channel, origin, redactor
        self.ts, self._posted = ts, posted
        self._run: Run | None = None
        self._changed = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def changed(self, run: Run) -> None:
        self._run = run
        self._changed.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        """Post at the first change, then edit with the latest state, paced; the edits of a
        burst of steps finishing together collapse into one."""
        while not self._stopping:
            await self._changed.wait()
            self._changed.clear()
            if self._stopping or self._run is None:
                return
            message = render_progress(self._run, self.origin, self.redactor.text)
            if self.ts is None:
                self.ts = await self.poster.send(self.channel, message)
                await self._posted(self.ts)
            else:
                await self.poster.update(self.channel, self.ts, message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), INTERVAL)

    async def stop(self) -> str | None:
        """Stop following; returns the message to replace. An error the first post met (not in
        the channel) is raised here."""
        self._stopping = True
        self._stopped.set()
        self._changed.set()
        if self._task is not None:
            await self._task
        return self.ts
