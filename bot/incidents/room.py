"""Where a command came from (Origin), and the Slack side of an incident as the incident code
sees it (Room): a channel to make, a header to keep, a report to publish. bot/slack/room.py
implements it; a terminal has no room, and an incident there lives in the store only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.incidents.model import Entry, Incident


@dataclass(frozen=True)
class Made:
    """A new channel's id, or why there is none (fracas may not create channels, say)."""

    channel: str | None
    why_not: str = ""


class Room(Protocol):
    async def make_channel(self, name: str, invite: str) -> Made:
        """Create the channel `name` and invite `invite` (a user id) to it."""
        ...

    async def show(self, incident: Incident, timeline: Sequence[Entry]) -> str:
        """Post and pin the header (incident.header_ts unset), else edit it; its ts."""
        ...

    async def announce(self, incident: Incident, channel: str) -> str:
        """The one-line announcement in `channel` (the catalog's incident_channel); its ts."""
        ...

    async def publish(self, incident: Incident, name: str, markdown: str) -> str:
        """Upload the report to the incident's channel, replacing incident.report_file;
        the new file's id."""
        ...

    async def ask_report(self, incident: Incident) -> None:
        """Ask whoever resolved it, and only them, whether to write the report now."""
        ...

    def link(self, channel: str, ts: str) -> str:
        """A permalink to the message `ts` in `channel`."""
        ...


@dataclass(frozen=True)
class Origin:
    """Who ran a command and from where. `key` is the command's own idempotency key (a
    Slack job's, the same on every attempt; a fresh one per terminal command): what it
    records is keyed by it, so a retry records nothing twice."""

    user: str = ""
    channel: str | None = None
    key: str = ""
    room: Room | None = None

    @property
    def author(self) -> str:
        """How the timeline names who did it: a Slack user as a mention, `<@U0123>`."""
        if self.room is not None and self.user:
            return f"<@{self.user}>"
        return self.user
