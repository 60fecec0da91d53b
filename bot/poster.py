"""Posting to Slack at the pace Slack allows: about one message a second per channel, in bursts."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from slack_sdk.web.async_client import AsyncWebClient

from bot.present.slack import SlackMessage, SlackPost


class _Bucket:
    """Token bucket: `burst` posts at once, then `rate` per second (reference §4)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        async with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens < 1:
                await asyncio.sleep((1 - self.tokens) / self.rate)
                self.stamp = time.monotonic()
                self.tokens = 1.0
            self.tokens -= 1


class SlackPoster:
    """Sends a SlackPost: the main message, then its thread replies and files under it."""

    def __init__(self, client: AsyncWebClient, rate: float = 1.0, burst: int = 4) -> None:
        self.client = client
        self._buckets: defaultdict[str, _Bucket] = defaultdict(lambda: _Bucket(rate, burst))

    async def send(self, channel: str, message: SlackMessage, thread_ts: str | None = None) -> str:
        await self._buckets[channel].take()
        response = await self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, unfurl_links=False, **message.payload()
        )
        return str(response["ts"])

    async def post(self, channel: str, post: SlackPost) -> str:
        ts = await self.send(channel, post.main)
        for reply in post.thread:
            await self.send(channel, reply, thread_ts=ts)
        for attachment in post.files:
            await self._buckets[channel].take()
            await self.client.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                content=attachment.text,
                filename=attachment.name,
                title=attachment.name,
            )
        return ts
