"""`note`, `timeline` and `report`: what people add to an incident's timeline, the timeline
itself, and the FRACAS report written from it."""

from __future__ import annotations

import re
import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.incident import IncidentRef, scope
from bot.actions.params import POSITIONAL, REST
from bot.actions.registry import ActionContext, action
from bot.errors import UsageError
from bot.incidents import report as fracas_report
from bot.incidents.model import Entry, Kind, Tag
from bot.incidents.report import clock, plain, what
from bot.results import Attachment, StepResult, Verdict

TAGGED = re.compile(r"(root cause|cause|actions?|prevention|prevent|impact)\s{0,8}:\s{0,8}", re.I)
TAG_OF: dict[str, Tag] = {
    "root cause": "cause",
    "cause": "cause",
    "action": "action",
    "actions": "action",
    "prevent": "prevent",
    "prevention": "prevent",
    "impact": "impact",
}
SHOWN = 40  # timeline lines in a Slack message; a longer timeline goes whole into a file
LATEST = 8  # the last entries, shown up top; the rest is in the thread


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoteParams(_Params):
    text: Annotated[str, REST] = Field(
        description="the note; cause:, action:, prevent: or impact: mark it for the report"
    )
    incident: IncidentRef = None


class ShowParams(_Params):
    incident: Annotated[str | None, POSITIONAL] = Field(
        None, description="which incident (default: this channel's)", examples=["FM-31"]
    )


@action("note", incident=True)
async def note(ctx: ActionContext, params: NoteParams) -> StepResult:
    """Add a note to the incident's timeline.

    `cause:`, `action:`, `prevent:` (and `impact:`) mark the report's root cause, corrective
    actions, prevention (and impact)."""
    origin = ctx.origin
    incidents, incident = await scope(ctx, params.incident)
    tag, text = tagged(params.text)
    if not text:
        raise UsageError(f"A `{tag}:` note needs its text.", f"Like `note {tag}: what you found`.")
    key = f"{origin.key or time.time_ns()}:note"
    added = await incidents.add(
        incident, Entry(Kind.NOTE, time.time(), text, key, origin.author, tag=tag)
    )
    marked = f" as {tag}" if tag else ""
    return StepResult(
        Verdict.OK,
        f"{incident.id} note",
        f"Noted{marked} on {incident.id}'s timeline: {ctx.redactor.text(text)}"
        if added
        else f"Already on {incident.id}'s timeline.",
    )


def tagged(text: str) -> tuple[Tag | None, str]:
    """`cause: pooler URL` is ("cause", "pooler URL"); untagged text is (None, text)."""
    found = TAGGED.match(text.strip())
    if found is None:
        return None, text.strip()
    return TAG_OF[found.group(1).lower()], text.strip()[found.end() :].strip()


@action("timeline", incident=True)
async def timeline(ctx: ActionContext, params: ShowParams) -> StepResult:
    """Show the incident's timeline; a long one comes whole as a file."""
    incidents, incident = await scope(ctx, params.incident)
    entries = await incidents.timeline(incident)
    lines = tuple(_line(e) for e in entries)
    attachments: tuple[Attachment, ...] = ()
    shown = lines
    if len(lines) > SHOWN:
        shown = (f"… {len(lines) - SHOWN} earlier entries in the file", *lines[-SHOWN:])
        attachments = (Attachment(f"{incident.id}-timeline.txt", "\n".join(lines) + "\n"),)
    latest = tuple(
        (
            f"{clock(e.at)} {what(e)}",
            f"{plain(e.author)}: {plain(e.text)}" if e.author else plain(e.text),
        )
        for e in entries[-LATEST:]
    )
    return StepResult(
        Verdict.INFO,
        f"{incident.id} timeline",
        f"{incident.id} · {incident.status} · {len(entries)} entries (times UTC)",
        facts=latest,
        details=shown,
        attachments=attachments,
    )


def _line(entry: Entry) -> str:
    verdict = f" [{entry.verdict.value}]" if entry.verdict else ""
    author = f" {plain(entry.author)}" if entry.author else ""
    command = f" `{entry.command}`:" if entry.command and entry.kind is Kind.COMMAND else ""
    return f"{clock(entry.at)} {what(entry)}{verdict}{author}:{command} {plain(entry.text)}"


@action("report", incident=True)
async def report(ctx: ActionContext, params: ShowParams) -> StepResult:
    """Write the FRACAS report from the incident's timeline.

    Markdown; in Slack it is uploaded to the incident's channel, replacing the previous
    version. `fracas report FM-31` prints it at a terminal."""
    origin = ctx.origin
    incidents, incident = await scope(ctx, params.incident)
    entries = await incidents.timeline(incident)
    markdown = fracas_report.write(incident, entries, ctx.redactor, ctx.catalog.incidents.template)
    name = f"{incident.id}-fracas-report.md"
    summary = f"{incident.id} report written from {len(entries)} timeline entries"
    if origin.room is not None and incident.channel:
        replaced = incident.report_file is not None
        file_id = await origin.room.publish(incident, name, markdown)
        await incidents.change(incident, report_file=file_id)
        where = f"<#{incident.channel}>"
        done = "replacing the previous version" if replaced else "as a file"
        return StepResult(Verdict.OK, f"{incident.id} report", f"{summary}: in {where}, {done}.")
    return StepResult(
        Verdict.OK,
        f"{incident.id} report",
        f"{summary}.",
        details=tuple(markdown.splitlines()),
        attachments=(Attachment(name, markdown),),
    )
