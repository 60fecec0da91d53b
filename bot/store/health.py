"""The bot's own health as /healthz reports it: can we reach the store, and has any worker
said it is alive lately (they may run on other machines, so the store is where to look)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from bot.durations import format_age
from bot.store import workers
from bot.store.engine import STORE_ERRORS, Store, unreachable

SILENT = 30.0  # seconds without a heartbeat before the workers count as gone
PING_SECONDS = 2.0


@dataclass(frozen=True)
class Health:
    store: str
    workers: str

    @property
    def ok(self) -> bool:
        return self.store == self.workers == "ok"


async def bot_health(store: Store) -> Health:
    try:
        async with asyncio.timeout(PING_SECONDS):
            seen = await workers.last_seen(store)
    except STORE_ERRORS as exc:
        why = unreachable(exc, PING_SECONDS)
        return Health(f"unreachable ({why})", "unknown: the store is unreachable")
    if seen is None:
        return Health(
            "ok",
            "no worker has sent a heartbeat (start `fracas worker`, or serve with --workers 1)",
        )
    age = time.time() - seen
    if age > SILENT:
        return Health("ok", f"no worker heartbeat for {format_age(timedelta(seconds=age))}")
    return Health("ok", "ok")
