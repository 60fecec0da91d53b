"""Slack's pace for every process at once: about one message a second per channel (with short
bursts), chat.update's Tier 3 bucket for the workspace, and any `Retry-After` Slack sends.

The state lives in one place, the store's `slack_pace` table: one row per bucket holding when
its next send is due (the generic cell rate algorithm, GCRA). Taking a slot is one upsert, so
two workers posting to one channel share its pace instead of each keeping its own.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import func

from bot.store.engine import Store
from bot.store.tables import pace


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    @property
    def interval(self) -> float:
        return 1 / self.per_second

    @property
    def tolerance(self) -> float:
        """How far ahead of the steady pace a burst may run."""
        return (self.burst - 1) * self.interval


POSTS = Rate(1.0, 4)  # chat.postMessage and file uploads, per channel (reference §4)
EDITS = Rate(0.8, 4)  # chat.update is Tier 3: 50+ a minute for the workspace
EDITS_BUCKET = "chat.update"
CHANNELS = Rate(20 / 60, 3)  # conversations.create is Tier 2: 20+ a minute for the workspace
CHANNELS_BUCKET = "conversations.create"


class Pace:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._greatest = func.greatest if store.postgres else func.max  # SQLite's scalar max

    async def take(self, bucket: str, rate: Rate) -> float:
        """Reserve the bucket's next slot and sleep until it; returns the seconds waited."""
        now = time.time()
        statement = (
            self.store.insert(pace)
            .values(bucket=bucket, tat=now + rate.interval)
            .on_conflict_do_update(
                index_elements=["bucket"],
                set_={"tat": self._greatest(pace.c.tat, now) + rate.interval},
            )
            .returning(pace.c.tat)
        )
        async with self.store.write() as conn:
            due = float((await conn.execute(statement)).scalar_one())
        wait = max(0.0, due - rate.interval - rate.tolerance - now)
        if wait:
            await asyncio.sleep(wait)
        return wait

    async def hold(self, bucket: str, rate: Rate, seconds: float) -> None:
        """Slack said `Retry-After: seconds`: nobody sends to this bucket before then."""
        until = time.time() + seconds + rate.tolerance
        statement = (
            self.store.insert(pace)
            .values(bucket=bucket, tat=until)
            .on_conflict_do_update(
                index_elements=["bucket"], set_={"tat": self._greatest(pace.c.tat, until)}
            )
        )
        async with self.store.write() as conn:
            await conn.execute(statement)
