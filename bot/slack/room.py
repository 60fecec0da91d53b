"""The Slack side of an incident (bot/incidents/room.py's Room): its channel, the pinned header,
the announcement, the report file, the ephemeral question after resolving. A refusal from Slack
costs the one side effect, said in the log or to the user, never the command: an incident whose
channel cannot be made lives in the channel it was opened in."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.errors import FracasError
from bot.incidents.model import Entry, Incident
from bot.incidents.room import Made
from bot.present.incident import render_announcement, render_ask_report, render_header
from bot.results import Attachment
from bot.slack.client import SlackPoster

log = logging.getLogger(__name__)
NAME_TRIES = 3  # `fm-31-x` taken (an old channel): `fm-31-x-2`, `fm-31-x-3`


class SlackRoom:
    """One job's room: `channel` and `response_url` are where its command was typed."""

    def __init__(
        self, poster: SlackPoster, workspace: str, channel: str, response_url: str
    ) -> None:
        self.poster, self.workspace = poster, workspace
        self.channel, self.response_url = channel, response_url

    async def make_channel(self, name: str, invite: str) -> Made:
        for attempt in range(1, NAME_TRIES + 1):
            tried = name if attempt == 1 else f"{name[:77]}-{attempt}"
            try:
                channel = await self.poster.create_channel(tried)
            except SlackApiError as exc:
                error = _error(exc)
                if error == "name_taken":
                    continue
                log.warning("could not create #%s: %s", tried, error)
                return Made(None, _why(exc))
            await self._invite(channel, invite)
            return Made(channel)
        return Made(None, f"#{name} and its variants are taken")

    async def _invite(self, channel: str, user: str) -> None:
        if not user:
            return
        try:
            await self.poster.client.conversations_invite(channel=channel, users=user)
        except SlackApiError as exc:
            if _error(exc) != "already_in_channel":
                log.warning("could not invite %s to %s: %s", user, channel, _error(exc))

    async def show(self, incident: Incident, timeline: Sequence[Entry]) -> str:
        assert incident.channel is not None
        message = render_header(incident, timeline)
        try:
            if incident.header_ts:
                await self.poster.update(incident.channel, incident.header_ts, message)
                return incident.header_ts
            ts = await self.poster.send(incident.channel, message)
        except SlackApiError as exc:
            log.warning("could not show %s's header: %s", incident.id, _error(exc))
            return incident.header_ts or ""
        try:
            await self.poster.client.pins_add(channel=incident.channel, timestamp=ts)
        except SlackApiError as exc:
            log.warning("could not pin %s's header: %s", incident.id, _why(exc))
        return ts

    async def announce(self, incident: Incident, channel: str) -> str:
        link = self.link(incident.channel or channel, incident.header_ts or "")
        try:
            return await self.poster.send(channel, render_announcement(incident, link))
        except SlackApiError as exc:
            log.warning("could not announce %s in %s: %s", incident.id, channel, _error(exc))
            return ""

    async def publish(self, incident: Incident, name: str, markdown: str) -> str:
        assert incident.channel is not None
        comment = f"{incident.id} FRACAS report, written from the timeline"
        try:
            file_id = await self.poster.upload(
                incident.channel, None, Attachment(name, markdown), comment
            )
        except SlackApiError as exc:
            raise FracasError(
                f"Slack refused the report file ({_why(exc)}).",
                f"`fracas report {incident.id}` prints it at a terminal.",
            ) from None
        if incident.report_file and incident.report_file != file_id:
            try:
                await self.poster.client.files_delete(file=incident.report_file)
            except SlackApiError as exc:  # deleted by hand already: nothing to replace
                log.info("previous report file %s: %s", incident.report_file, _error(exc))
        return file_id

    async def ask_report(self, incident: Incident) -> None:
        if not self.response_url:
            return
        await AsyncWebhookClient(self.response_url).send(
            response_type="ephemeral", **render_ask_report(incident).payload()
        )

    def link(self, channel: str, ts: str) -> str:
        return f"{self.workspace.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "unknown error"))


def _why(exc: SlackApiError) -> str:
    """`missing_scope (needs channels:manage)`: Slack's error, with the scope it names."""
    error, needed = _error(exc), exc.response.get("needed")
    return f"{error}: the app needs the {needed} scope" if needed else error
