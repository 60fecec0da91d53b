"""📌 on a message in an incident's channel puts that message on the timeline, at the time it
was posted and under its author, redacted; taking the last 📌 off takes it off again.

Each reaction event is a job (bot/slack/app.py), and the job asks Slack what the message's
reactions are now (reactions.get) rather than trusting the event: so a second pin, events seen
out of order, a retry or the same event at two replicas all come to one entry, or none."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict
from slack_sdk.errors import SlackApiError

from bot.actions.registry import ActionContext
from bot.incidents.desk import living_in, refresh
from bot.incidents.model import Entry, Kind
from bot.incidents.room import Origin
from bot.slack.client import SlackPoster
from bot.slack.room import SlackRoom
from bot.store.jobs import Job, Jobs

log = logging.getLogger(__name__)
PIN, PINNED = "slack.pin", "pushpin"
TEXT_CHARS = 3000  # a pinned message's text on the timeline


class PinOrder(BaseModel):
    """A 📌 put on or taken off the message `ts` in `channel`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str
    ts: str
    user: str


class Pins:
    def __init__(self, ctx: ActionContext, poster: SlackPoster) -> None:
        self.ctx, self.poster = ctx, poster

    async def pin(self, job: Job, jobs: Jobs) -> None:
        order = PinOrder.model_validate_json(job.payload)
        incidents = self.ctx.incidents
        if incidents is None or job.given_up:
            return
        incident = await living_in(incidents, order.channel, self.ctx.catalog.incident_channel)
        if incident is None:
            return  # a pin outside any incident's channel is none of ours
        key = f"pin:{order.channel}:{order.ts}"
        try:
            found = await self.poster.client.reactions_get(
                channel=order.channel, timestamp=order.ts, full=True
            )
        except SlackApiError as exc:
            log.warning("cannot read the pinned message %s: %s", key, exc.response.get("error"))
            return
        message: dict[str, Any] = found.get("message") or {}
        room = SlackRoom(self.poster, await self.poster.workspace(), order.channel, "")
        if not pinned(message):
            changed = await incidents.remove(incident, key)
        else:
            own = await self.poster.bot_id()
            entry = Entry(
                Kind.PIN,
                float(message.get("ts") or order.ts),
                text_of(message),
                key,
                author_of(message),
                link=room.link(order.channel, order.ts),
                by_integration=bool(message.get("bot_id")) and message.get("bot_id") != own,
            )
            changed = await incidents.add(incident, entry)
        if changed:
            await refresh(incidents, Origin(order.user, order.channel, job.key, room), incident)


def pinned(message: dict[str, Any]) -> bool:
    return any(r.get("name") == PINNED and r.get("count", 1) for r in message.get("reactions", []))


def author_of(message: dict[str, Any]) -> str:
    """A person as a mention; an integration by the name it posts under."""
    if message.get("user") and not message.get("bot_id"):
        return f"<@{message['user']}>"
    profile = message.get("bot_profile") or {}
    return str(
        message.get("username") or profile.get("name") or message.get("user") or "an integration"
    )


def text_of(message: dict[str, Any]) -> str:
    """What the message says: its text, else what its blocks and attachments say (alerts
    posted by integrations often carry everything there)."""
    parts = [str(message.get("text") or "")]
    for block in message.get("blocks") or []:
        if isinstance(block, dict):
            parts += _block_text(block)
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            parts += [str(attachment.get(k) or "") for k in ("pretext", "title", "text")]
            parts += [
                f"{f.get('title')}: {f.get('value')}"
                for f in attachment.get("fields") or []
                if isinstance(f, dict)
            ]
    said = [p.strip() for p in parts if p and p.strip()]
    text = " · ".join(dict.fromkeys(said)) if said else "(a message with no text)"
    return text[:TEXT_CHARS]


def _block_text(block: dict[str, Any]) -> list[str]:
    texts = [block.get("text"), *(block.get("fields") or [])]
    return [str(t.get("text") or "") for t in texts if isinstance(t, dict)]
