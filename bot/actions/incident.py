"""`incident open | status | lead | sev` and `incidents`: an incident's life, each change
recorded on its timeline and shown in its pinned header."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.params import POSITIONAL, REST, EnvName
from bot.actions.registry import ActionContext, action
from bot.durations import Duration, format_age
from bot.errors import FracasError
from bot.incidents.desk import channel_name, refresh, scoped
from bot.incidents.model import Entry, Incident, Kind, Severity, Status
from bot.incidents.repository import Incidents, Numbering
from bot.incidents.room import Origin
from bot.results import StepResult, Table, Verdict

MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^>]{0,80})?>")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentOpenParams(_Params):
    title: Annotated[str, REST] = Field(description="what is wrong, in a few words")
    sev: Severity = Field("P1", description="severity")
    env: EnvName | None = Field(None, description="affected environment")


IncidentRef = Annotated[
    str | None,
    Field(description="which incident (default: this channel's)", examples=["FM-31"]),
]


class IncidentStatusParams(_Params):
    state: Annotated[Status, POSITIONAL] = Field(description="new state")
    text: Annotated[str | None, REST] = Field(None, description="what changed")
    incident: IncidentRef = None


class IncidentLeadParams(_Params):
    who: Annotated[str, POSITIONAL] = Field(description="the new lead: @someone, or me")
    incident: IncidentRef = None


class IncidentSevParams(_Params):
    sev: Annotated[Severity, POSITIONAL] = Field(description="the new severity")
    incident: IncidentRef = None


class IncidentsParams(_Params):
    since: Duration = Field(timedelta(days=7), description="how far back resolved ones are shown")


def book(ctx: ActionContext) -> Incidents:
    if ctx.incidents is None:
        raise FracasError("No store is open here, so there are no incidents.")
    return ctx.incidents


async def scope(ctx: ActionContext, ref: str | None) -> tuple[Incidents, Incident]:
    """The store's incidents, and the one this command means (desk.scoped)."""
    incidents = book(ctx)
    return incidents, await scoped(incidents, ctx.origin, ref, ctx.catalog.incident_channel)


@action("incident open", incident=True)
async def incident_open(ctx: ActionContext, params: IncidentOpenParams) -> StepResult:
    """Open an incident; its timeline starts now.

    In Slack it gets its own channel (#fm-31-<title>) with a pinned header, announced in the
    catalog's incident_channel."""
    incidents, origin, spec = book(ctx), ctx.origin, ctx.catalog.incidents
    incident, _ = await incidents.open(
        key=origin.key or f"terminal:{time.time_ns()}",
        numbering=Numbering(spec.prefix, spec.start),
        title=params.title,
        severity=params.sev,
        opened_by=origin.author,
        env=params.env,
    )
    where = f" in {incident.env}" if incident.env else ""
    opening = f"{incident.id} opened ({incident.severity}{where}): {incident.title}"
    await incidents.add(
        incident, Entry(Kind.OPENED, incident.started_at, opening, "opened", origin.author)
    )
    if origin.room is not None:
        incident = await _placed(incidents, origin, incident, spec.channels)
        incident = await refresh(incidents, origin, incident)
        incident = await _announced(incidents, origin, ctx.catalog.incident_channel, incident)
    return StepResult(
        Verdict.OK,
        f"{incident.id} opened",
        f"{incident.id} · {incident.severity}{where} · {incident.title}. {_where(incident)}",
        facts=_facts(incident),
        hints=(
            "`incident status identified <text>` when the cause is known; "
            "`note cause: …`, `note action: …` feed the report.",
        ),
    )


async def _placed(
    incidents: Incidents, origin: Origin, incident: Incident, own_channels: bool
) -> Incident:
    """Its own channel if fracas may make one, else the channel it was opened in."""
    if incident.channel is not None or origin.room is None:
        return incident
    if own_channels:
        made = await origin.room.make_channel(channel_name(incident), origin.user)
        if made.channel:
            return await incidents.change(incident, channel=made.channel)
        why = made.why_not
    else:
        why = "the catalog's incidents.channels is false"
    return await incidents.change(incident, channel=origin.channel, channel_note=why)


async def _announced(
    incidents: Incidents, origin: Origin, channel: str | None, incident: Incident
) -> Incident:
    """The one-line announcement in the catalog's incident_channel, once, unless it lives there."""
    if origin.room is None or not channel or incident.announce_ts is not None:
        return incident
    if channel == incident.channel:
        return incident
    ts = await origin.room.announce(incident, channel)
    return await incidents.change(incident, announce_ts=ts)


def _where(incident: Incident) -> str:
    if incident.channel is None:
        return "It lives in the store: `timeline`, `note` and `report` work on it here."
    if incident.own_channel:
        return f"Its channel: <#{incident.channel}>."
    return f"It lives in this channel: I could not make one ({incident.channel_note})."


def _facts(incident: Incident) -> tuple[tuple[str, str], ...]:
    facts = [
        ("severity", incident.severity),
        ("status", incident.status),
        ("lead", incident.lead or "nobody yet (`incident lead me`)"),
        ("started", _utc(incident.started_at)),
    ]
    if incident.env:
        facts.insert(1, ("environment", incident.env))
    return tuple(facts)


@action("incident status", incident=True)
async def incident_status(ctx: ActionContext, params: IncidentStatusParams) -> StepResult:
    """Move the incident to a new state: investigating, identified, monitoring, resolved."""
    origin = ctx.origin
    incidents, incident = await scope(ctx, params.incident)
    said = f": {params.text}" if params.text else ""
    line = f"{incident.status} → {params.state}{said}"
    entry = _change_entry(Kind.STATUS, origin, line)
    incident = await incidents.change(incident, entry, status=params.state)
    incident = await refresh(incidents, origin, incident)
    hints: tuple[str, ...] = ()
    if params.state == "resolved":
        hints = (f"Write the FRACAS report: `report {incident.id}`.",)
        if origin.room is not None:
            await origin.room.ask_report(incident)
    return StepResult(Verdict.OK, f"{incident.id} is {params.state}", line, hints=hints)


@action("incident lead", incident=True)
async def incident_lead(ctx: ActionContext, params: IncidentLeadParams) -> StepResult:
    """Name who leads the incident: `incident lead @someone`, or `incident lead me`."""
    origin = ctx.origin
    incidents, incident = await scope(ctx, params.incident)
    lead = _person(params.who, origin)
    entry = _change_entry(Kind.LEAD, origin, f"lead: {lead}")
    incident = await incidents.change(incident, entry, lead=lead)
    incident = await refresh(incidents, origin, incident)
    return StepResult(Verdict.OK, f"{incident.id} lead", f"{lead} leads {incident.id}.")


@action("incident sev", incident=True)
async def incident_sev(ctx: ActionContext, params: IncidentSevParams) -> StepResult:
    """Change the incident's severity: P0, P1 or P2."""
    origin = ctx.origin
    incidents, incident = await scope(ctx, params.incident)
    line = f"severity {incident.severity} → {params.sev}"
    incident = await incidents.change(
        incident, _change_entry(Kind.SEVERITY, origin, line), severity=params.sev
    )
    incident = await refresh(incidents, origin, incident)
    return StepResult(Verdict.OK, f"{incident.id} severity", line)


@action("incidents", incident=True)
async def incidents_(ctx: ActionContext, params: IncidentsParams) -> StepResult:
    """Open incidents, and those resolved lately (`--since 30d` for more)."""
    incidents = book(ctx)
    listed = await incidents.listing(since=time.time() - params.since.total_seconds())
    opened = [i for i in listed if i.open]
    rows = tuple(
        (
            i.id,
            i.severity,
            i.status,
            i.title,
            i.lead or "-",
            f"<#{i.channel}>" if i.channel else "-",
            format_age(timedelta(seconds=time.time() - i.started_at)),
        )
        for i in listed
    )
    summary = f"{len(opened)} open" + (
        f", {len(listed) - len(opened)} resolved lately" if len(listed) > len(opened) else ""
    )
    return StepResult(
        Verdict.INFO,
        "Incidents",
        summary if listed else "No incident is open, and none was resolved lately.",
        details=Table(("id", "sev", "status", "title", "lead", "channel", "started"), rows)
        if rows
        else (),
    )


def _change_entry(kind: Kind, origin: Origin, text: str) -> Entry:
    return Entry(
        kind, time.time(), text, f"{origin.key or time.time_ns()}:{kind.value}", origin.author
    )


def _person(who: str, origin: Origin) -> str:
    """`<@U123|alice>` (Slack's escaped mention) as `<@U123>`; `me` as the asker."""
    if who.lower() == "me":
        if not origin.user:
            raise FracasError("Who is `me` here? Name the lead instead.")
        return origin.author
    found = MENTION.fullmatch(who.strip())
    return f"<@{found.group(1)}>" if found else who.strip()[:80]


def _utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
