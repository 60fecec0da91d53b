"""The Slack Web API client: retries on 429 and dropped connections, and posting at the pace
Slack allows (about one message a second per channel, in bursts)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.present.slack import SlackMessage, SlackPost
from bot.results import Attachment


def build_client(
    settings: Settings,
    session: aiohttp.ClientSession | None = None,
    timeout: int = 15,
    retries: bool = True,
) -> AsyncWebClient:
    """Web API client that waits out 429s (Retry-After) and retries dropped connections.

    Give it the process's `session`: without one, slack_sdk opens a new connection (and TLS
    handshake) for every call.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        session=session,
        timeout=timeout,
        retry_handlers=handlers if retries else [],
    )


EDITS_PER_SECOND = 0.8  # chat.update is Tier 3: 50+ a minute (reference §4)


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
    """Sends a SlackPost: the main message, then its thread replies and files under it.

    It lives on the work loop (see background.py): its client and connection pool are opened
    there, on first use, and closed there.
    """

    def __init__(self, settings: Settings, rate: float = 1.0, burst: int = 4) -> None:
        self.settings = settings
        self._client: AsyncWebClient | None = None
        self._buckets: defaultdict[str, _Bucket] = defaultdict(lambda: _Bucket(rate, burst))
        self._edits = _Bucket(EDITS_PER_SECOND, burst)  # chat.update: Tier 3, per workspace

    @property
    def client(self) -> AsyncWebClient:
        if self._client is None:
            self._client = build_client(self.settings, aiohttp.ClientSession())
        return self._client

    async def close(self) -> None:
        if self._client is not None and self._client.session is not None:
            await self._client.session.close()

    async def send(self, channel: str, message: SlackMessage, thread_ts: str | None = None) -> str:
        await self._buckets[channel].take()
        response = await self.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, unfurl_links=False, **message.payload()
        )
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        """Edit a message in place. Tier 3 (about 50 a minute) counts every edit in the
        workspace, so edits share one bucket whichever message they change."""
        await self._edits.take()
        await self.client.chat_update(channel=channel, ts=ts, **message.payload())

    async def post(self, channel: str, post: SlackPost) -> str:
        ts = await self.send(channel, post.main)
        await self.replies(channel, ts, post)
        return ts

    async def replies(self, channel: str, ts: str, post: SlackPost) -> None:
        """The post's thread replies and files, under the message `ts`."""
        for reply in post.thread:
            await self.send(channel, reply, thread_ts=ts)
        for attachment in post.files:
            await self.upload(channel, ts, attachment)

    async def upload(self, channel: str, ts: str, attachment: Attachment) -> None:
        await self._buckets[channel].take()
        await self.client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            content=attachment.text,
            filename=attachment.name,
            title=attachment.name,
        )
