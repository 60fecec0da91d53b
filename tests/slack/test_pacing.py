"""Slack's pace, kept in the store, on both backends: a burst of 4 then one a second per
channel, shared by every engine (process) on the store, and a Retry-After one process hears
holds the others too."""

from __future__ import annotations

import asyncio
import time

from bot.slack.pacing import POSTS, Pace
from bot.store.engine import Store, open_store


async def test_a_channel_takes_a_burst_then_one_a_second_whoever_sends(
    store_url: str, store: Store
) -> None:
    other = open_store(store_url)  # a second process's engine
    try:
        await asyncio.gather(store.ping(), other.ping())  # connected: the clock times the pace
        paces = [Pace(store), Pace(other)]
        started = time.monotonic()

        async def send(n: int) -> float:
            await paces[n % 2].take("C1", POSTS)
            return time.monotonic() - started

        times = sorted(await asyncio.gather(*(send(n) for n in range(7))))
        alone = time.monotonic()
        await paces[0].take("C2", POSTS)  # another channel is not held up
        assert time.monotonic() - alone < 0.1
    finally:
        await other.close()
    assert all(t < 0.2 for t in times[:4])  # the burst
    for i, t in enumerate(times[4:], start=1):
        assert t >= i * POSTS.interval - 0.05


async def test_a_retry_after_heard_by_one_holds_every_sender(store_url: str, store: Store) -> None:
    other = open_store(store_url)
    try:
        await Pace(store).hold("C1", POSTS, 1.0)
        started = time.monotonic()
        await Pace(other).take("C1", POSTS)
        waited = time.monotonic() - started
    finally:
        await other.close()
    assert 0.9 <= waited < 1.5
