"""An incident's messages in Slack: the pinned header (edited in place at every change), the
one-line announcement, and the question whether to write the report now. Built from the same
typed Incident and Entry values the report uses; always within Block Kit's limits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.incidents.model import Entry, Incident, Kind
from bot.present.slack import (
    EMOJI,
    FIELD_CHARS,
    HEADER_CHARS,
    SECTION_CHARS,
    SlackMessage,
    cut,
    escape,
)

REPORT_NOW = "fracas_report_now"
STATUS_EMOJI = {
    "investigating": ":mag:",
    "identified": ":bulb:",
    "monitoring": ":eyes:",
    "resolved": ":white_check_mark:",
}
CAUSES = 3  # likely causes under the last findings


def render_header(incident: Incident, timeline: Sequence[Entry]) -> SlackMessage:
    """Title, severity, environment, status, lead, started, and the last findings."""
    emoji = ":rotating_light:" if incident.open else ":white_check_mark:"
    title = cut(f"{emoji} {incident.id} · {incident.severity} · {incident.title}", HEADER_CHARS)
    fields = [
        f"*Status*\n{STATUS_EMOJI[incident.status]} {incident.status}",
        f"*Severity*\n{incident.severity}",
        f"*Environment*\n{escape(incident.env or 'not given')}",
        f"*Lead*\n{escape(incident.lead or 'nobody yet: `/fracas incident lead me`')}",
        f"*Started*\n{_utc(incident.started_at)}",
    ]
    if incident.resolved_at is not None:
        fields.append(f"*Resolved*\n{_utc(incident.resolved_at)}")
    blocks = [
        HeaderBlock(text=title),
        SectionBlock(fields=[MarkdownTextObject(text=cut(f, FIELD_CHARS)) for f in fields]),
        SectionBlock(text=MarkdownTextObject(text=_findings(timeline))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{len(timeline)} timeline entr{'y' if len(timeline) == 1 else 'ies'} · "
                    ":pushpin: a message to add it · "
                    "`/fracas note cause: …` · `/fracas timeline` · `/fracas report`"
                )
            ]
        ),
    ]
    text = f"{incident.id} {incident.severity} {incident.status}: {incident.title}"
    return SlackMessage(cut(escape(text), 3000), tuple(b.to_dict() for b in blocks))


def _findings(timeline: Sequence[Entry]) -> str:
    last = next((e for e in reversed(timeline) if e.kind is Kind.COMMAND), None)
    if last is None:
        return "*Last findings*\nNo fracas command has run here yet: try `/fracas run <runbook>`."
    emoji = EMOJI[last.verdict] if last.verdict else ""
    link = f" <{last.link}|view>" if last.link else ""
    lines = [
        "*Last findings*",
        f"{emoji} `{escape(last.command)}` at {_utc(last.at, short=True)}: "
        f"{escape(last.text)}{link}",
        *(f"• {escape(line)}" for line in last.lines[:CAUSES]),
    ]
    return cut("\n".join(lines), SECTION_CHARS)


def render_announcement(incident: Incident, link: str) -> SlackMessage:
    where = f" in {incident.env}" if incident.env else ""
    channel = f"<#{incident.channel}>" if incident.channel else "this channel"
    line = (
        f":rotating_light: *{incident.id}* ({incident.severity}{escape(where)}) opened by "
        f"{escape(incident.opened_by or 'fracas')}: "
        f"{escape(incident.title)} · {channel} · <{link}|header>"
    )
    section = SectionBlock(text=MarkdownTextObject(text=cut(line, SECTION_CHARS)))
    text = f"{incident.id} ({incident.severity}) opened: {incident.title}"
    return SlackMessage(cut(escape(text), 3000), (section.to_dict(),))


def render_ask_report(incident: Incident) -> SlackMessage:
    """Shown only to whoever resolved it; the button runs `report FM-31` in the channel."""
    line = f":white_check_mark: {incident.id} is resolved. Write the FRACAS report now?"
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=line)),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Write the report",
                    action_id=REPORT_NOW,
                    value=f"report {incident.id}",
                    style="primary",
                ),
            ]
        ),
        ContextBlock(
            elements=[MarkdownTextObject(text=f"Or later: `/fracas report {incident.id}`.")]
        ),
    ]
    return SlackMessage(line, tuple(b.to_dict() for b in blocks))


def _utc(at: float, short: bool = False) -> str:
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%H:%M UTC" if short else "%Y-%m-%d %H:%M UTC")
