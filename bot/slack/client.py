"""The Slack Web API client, and the poster that sends at the pace Slack allows.

The pace is shared by every process through the store (pacing.py). A 429 is not retried inside
slack_sdk here: its `Retry-After` is written to the shared pace first, so every worker waits it
out, and then the send is tried again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.config import Settings
from bot.present.slack import SlackMessage
from bot.results import Attachment
from bot.slack.pacing import (
    CHANNELS,
    CHANNELS_BUCKET,
    EDITS,
    EDITS_BUCKET,
    POSTS,
    Pace,
    Rate,
)

RATE_LIMIT_TRIES = 4


def build_client(
    settings: Settings,
    session: aiohttp.ClientSession | None = None,
    timeout: int = 15,
    retries: bool = True,
    rate_limits: bool = True,
) -> AsyncWebClient:
    """Web API client that retries dropped connections and 5xx, and with `rate_limits` waits
    out 429s itself (the web process's few calls; the poster handles its own). `fracas check`
    wants one plain answer: no retries at all.

    Give it the process's `session`: without one, slack_sdk opens a new connection (and TLS
    handshake) for every call.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]
    if rate_limits:
        handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        session=session,
        timeout=timeout,
        retry_handlers=handlers if retries else [],
    )


class SlackPoster:
    """Sends messages, edits and files, each after taking its slot in the shared pace.

    Its client and connection pool are opened on the loop that first uses it, and closed there.
    """

    def __init__(self, settings: Settings, pace: Pace) -> None:
        self.settings, self.pace = settings, pace
        self._client: AsyncWebClient | None = None
        self._identity_: dict[str, Any] | None = None

    @property
    def client(self) -> AsyncWebClient:
        if self._client is None:
            self._client = build_client(self.settings, aiohttp.ClientSession(), rate_limits=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None and self._client.session is not None:
            await self._client.session.close()

    async def send(self, channel: str, message: SlackMessage, thread_ts: str | None = None) -> str:
        response = await self._paced(
            channel,
            POSTS,
            lambda: self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, unfurl_links=False, **message.payload()
            ),
        )
        return str(response["ts"])

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        """Edit a message in place. Tier 3 (about 50 a minute) counts every edit in the
        workspace, so edits share one bucket whichever message they change."""
        await self._paced(
            EDITS_BUCKET,
            EDITS,
            lambda: self.client.chat_update(channel=channel, ts=ts, **message.payload()),
        )

    async def create_channel(self, name: str) -> str:
        """A new public channel's id. Tier 2 (about 20 a minute) for the workspace: a storm of
        incidents opens channels at that pace rather than being refused."""
        response = await self._paced(
            CHANNELS_BUCKET, CHANNELS, lambda: self.client.conversations_create(name=name)
        )
        return str(response["channel"]["id"])

    async def upload(
        self, channel: str, ts: str | None, attachment: Attachment, comment: str | None = None
    ) -> str:
        """Share a file in `channel` (in the thread of `ts`, if given); the file's id."""
        response = await self._paced(
            channel,
            POSTS,
            lambda: self.client.files_upload_v2(
                channel=channel,
                thread_ts=ts,
                content=attachment.text,
                filename=attachment.name,
                title=attachment.name,
                initial_comment=comment,
            ),
        )
        return str(response["files"][0]["id"])

    async def workspace(self) -> str:
        """The workspace's URL (`https://x.slack.com/`), for permalinks."""
        return str((await self._identity()).get("url") or "https://slack.com/")

    async def bot_id(self) -> str:
        """This app's bot id: its own messages are not an integration's alerts."""
        return str((await self._identity()).get("bot_id") or "")

    async def _identity(self) -> dict[str, Any]:
        """auth.test, asked once (Slack down: asked again next time)."""
        if self._identity_ is None:
            try:
                answer = (await self.client.auth_test()).data
                self._identity_ = answer if isinstance(answer, dict) else {}
            except SlackApiError:
                return {}
        return self._identity_

    async def _paced(
        self, bucket: str, rate: Rate, call: Callable[[], Awaitable[AsyncSlackResponse]]
    ) -> Any:
        for _ in range(RATE_LIMIT_TRIES - 1):
            await self.pace.take(bucket, rate)
            try:
                return await call()
            except SlackApiError as exc:
                if exc.response.status_code != 429:
                    raise
                await self.pace.hold(bucket, rate, _retry_after(exc))
        await self.pace.take(bucket, rate)
        return await call()


def _retry_after(exc: SlackApiError) -> float:
    """Slack's Retry-After in seconds; 1 when it is missing or not a number (as slack_sdk)."""
    value = str(
        exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", ""))
    )
    return float(value) if value.isdigit() else 1.0
