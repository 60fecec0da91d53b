"""The moves every incident command makes: find the incident a command means, and keep its
header in Slack in step with the store after a change."""

from __future__ import annotations

import re

from bot.errors import FracasError, UsageError
from bot.incidents.model import Entry, Incident, parse_ref
from bot.incidents.repository import Incidents
from bot.incidents.room import Origin

SLUG_WORDS = re.compile(r"[a-z0-9]+")
CHANNEL_NAME_MAX = 80  # Slack's limit for a channel name
REFRESHES = 4  # edits of the header one change makes at most, when others change it too


async def living_in(incidents: Incidents, channel: str, lobby: str | None) -> Incident | None:
    """The incident living in `channel`; in the lobby (the catalog's incident_channel, where
    alerts and announcements land), the one incident open, if only one is."""
    found = await incidents.in_channel(channel)
    if found is not None or channel != lobby:
        return found
    return await only_open(incidents)


async def only_open(incidents: Incidents) -> Incident | None:
    """The incident open, if exactly one is."""
    opened = [i for i in await incidents.listing() if i.open]
    return opened[0] if len(opened) == 1 else None


async def scoped(
    incidents: Incidents, origin: Origin, ref: str | None, lobby: str | None = None
) -> Incident:
    """The incident named by `ref` (FM-31), else the one living in this channel (see
    living_in), else at a terminal the only open one (none open: the last one). Several open
    is a question back, never a guess; every result names the incident it acted on."""
    if ref:
        parsed = parse_ref(ref)
        if parsed is None:
            raise UsageError(f"'{ref}' is not an incident id.", "Ids look like FM-31.")
        found = await incidents.get(parsed[1])
        if found is None or found.prefix != parsed[0]:
            raise FracasError(f"There is no incident {ref.upper()}.", "`incidents` lists them.")
        return found
    if origin.channel:
        found = await living_in(incidents, origin.channel, lobby)
        if found is not None:
            return found
        raise FracasError(
            "No incident lives in this channel.",
            "Name one (`--incident FM-31`), or open one with `incident open <title>`.",
        )
    listed = await incidents.listing()
    opened = [i for i in listed if i.open]
    if len(opened) == 1:
        return opened[0]
    if not opened and listed:
        return listed[0]  # the last one resolved: its report, its timeline
    if not opened:
        raise FracasError("There is no incident yet.", "Open one: `incident open <title>`.")
    ids = ", ".join(i.id for i in opened)
    raise FracasError(f"{len(opened)} incidents are open ({ids}): which one?", "Name it: FM-31.")


async def refresh(incidents: Incidents, origin: Origin, incident: Incident) -> Incident:
    """Post the pinned header the first time, edit it in place every time after.

    It shows the incident as the store has it, not as this job last saw it: two jobs
    changing one incident at once each edit it, and the one that edits last may have read
    first. So after its edit each looks again, and edits once more if the store moved on:
    the last edit always shows the latest state."""
    room = origin.room
    if room is None or incident.channel is None:
        return incident
    state = await _state(incidents, incident)
    for _ in range(REFRESHES):
        current, entries = state
        ts = await room.show(current, entries)
        if ts and ts != current.header_ts:
            current = await incidents.change(current, header_ts=ts)
        now = await _state(incidents, current)
        if _same(now, (current, entries)):
            return current
        state = now
    return state[0]


async def _state(incidents: Incidents, incident: Incident) -> tuple[Incident, list[Entry]]:
    current = await incidents.get(incident.number) or incident
    return current, await incidents.timeline(current)


def _same(a: tuple[Incident, list[Entry]], b: tuple[Incident, list[Entry]]) -> bool:
    return a[0] == b[0] and [e.key for e in a[1]] == [e.key for e in b[1]]


def channel_name(incident: Incident) -> str:
    """`fm-31-worker-down-in-production`: Slack's rules (lowercase letters, digits, hyphens,
    at most 80 characters), cut at a word."""
    head = f"{incident.prefix.lower()}-{incident.number}"
    name = head
    for word in SLUG_WORDS.findall(incident.title.lower()):
        if len(name) + 1 + len(word) > CHANNEL_NAME_MAX:
            break
        name = f"{name}-{word}"
    return name
