"""The incident commands at a terminal (no Slack room): what each records, which incident a
command means when none is named, and the timeline within limits."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.actions.registry import ActionContext
from bot.core import perform, understand
from bot.errors import FracasError
from bot.incidents.model import Kind
from bot.incidents.repository import Incidents
from bot.incidents.room import Origin
from bot.results import StepResult
from bot.store.engine import open_store


@pytest.fixture
async def kept(ctx: ActionContext, tmp_path: Path) -> AsyncIterator[ActionContext]:
    store = open_store(f"sqlite:///{tmp_path}/fracas.db")
    yield dataclasses.replace(ctx, incidents=Incidents(store, ctx.redactor))
    await store.close()


async def say(ctx: ActionContext, text: str, key: str = "") -> StepResult:
    origin = Origin(user="ann", key=key or f"terminal:{text}")
    result = await perform(understand(text, ctx), dataclasses.replace(ctx, origin=origin))
    assert isinstance(result, StepResult)
    return result


async def test_an_incident_opened_at_a_terminal_lives_in_the_store(kept: ActionContext) -> None:
    opened = await say(kept, "incident open Uploads stuck in staging --sev P2 --env staging")
    assert opened.title == "FM-31 opened"
    assert "It lives in the store" in opened.summary
    assert dict(opened.facts)["environment"] == "staging"
    noted = await say(kept, "note Cause : webhook retries pile up")
    assert noted.summary == "Noted as cause on FM-31's timeline: webhook retries pile up"
    with pytest.raises(FracasError, match="A `action:` note needs its text"):
        await say(kept, "note action:")
    plain = await say(kept, "note restarted the worker, no change")
    assert "Noted on FM-31" in plain.summary
    await say(kept, "incident sev P1")
    await say(kept, "incident lead @bob")
    status = await say(kept, "incident status resolved queue drained")
    assert status.hints == ("Write the FRACAS report: `report FM-31`.",)
    assert kept.incidents is not None
    incident = await kept.incidents.get(31)
    assert incident is not None
    assert (incident.severity, incident.lead, incident.status) == ("P1", "@bob", "resolved")
    kinds = [e.kind for e in await kept.incidents.timeline(incident)]
    assert kinds == [Kind.OPENED, Kind.NOTE, Kind.NOTE, Kind.SEVERITY, Kind.LEAD, Kind.STATUS]


async def test_the_same_command_run_again_records_nothing_twice(kept: ActionContext) -> None:
    await say(kept, "incident open Checkout down", key="slack:trigger:1")
    again = await say(kept, "incident open Checkout down", key="slack:trigger:1")
    assert again.title == "FM-31 opened"
    await say(kept, "note cause: bad deploy", key="slack:trigger:2")
    await say(kept, "note cause: bad deploy", key="slack:trigger:2")
    assert kept.incidents is not None
    incident = await kept.incidents.get(31)
    assert incident is not None
    assert len(await kept.incidents.timeline(incident)) == 2
    assert await kept.incidents.get(32) is None


async def test_with_two_open_a_terminal_is_asked_which(kept: ActionContext) -> None:
    await say(kept, "incident open One")
    await say(kept, "incident open Two")
    with pytest.raises(FracasError, match=r"2 incidents are open \(FM-32, FM-31\): which one\?"):
        await say(kept, "note which one is this for")
    named = await say(kept, "note it is for the first --incident fm-31")
    assert "FM-31" in named.summary
    with pytest.raises(FracasError, match="There is no incident FM-40"):
        await say(kept, "timeline FM-40")
    listed = await say(kept, "incidents")
    assert listed.summary == "2 open"


async def test_a_long_timeline_shows_its_end_and_comes_whole_as_a_file(kept: ActionContext) -> None:
    await say(kept, "incident open Flapping API")
    for n in range(60):
        await say(kept, f"note check {n}")
    shown = await say(kept, "timeline")
    lines = shown.detail_lines()
    assert lines[0] == "… 21 earlier entries in the file" and len(lines) == 41
    assert lines[-1].endswith("note ann: check 59")
    assert len(shown.facts) == 8 and shown.facts[-1] == (shown.facts[-1][0], "ann: check 59")
    assert shown.facts[-1][0].endswith(" note")
    (whole,) = shown.attachments
    assert whole.name == "FM-31-timeline.txt" and len(whole.text.splitlines()) == 61


async def test_at_a_terminal_the_report_is_shown_and_saved(kept: ActionContext) -> None:
    await say(kept, "incident open Worker down --sev P0")
    await say(kept, "note cause: IPv6-only host")
    shown = await say(kept, "report")
    (saved,) = shown.attachments
    assert saved.name == "FM-31-fracas-report.md" and saved.text.startswith("# FM-31: Worker down")
    assert "\n".join(shown.detail_lines()) + "\n" == saved.text


async def test_in_the_incident_channel_a_command_means_the_one_open_incident(
    kept: ActionContext,
) -> None:
    """The catalog's incident_channel (C0123456789 in the example) is where alerts land."""
    lobby = kept.catalog.incident_channel
    assert lobby is not None

    async def said_in(channel: str, text: str) -> StepResult:
        origin = Origin(user="U1", channel=channel, key=f"k:{text}:{channel}")
        result = await perform(understand(text, kept), dataclasses.replace(kept, origin=origin))
        assert isinstance(result, StepResult)
        return result

    await say(kept, "incident open Only one")
    assert "FM-31" in (await said_in(lobby, "note from the lobby")).summary
    with pytest.raises(FracasError, match="No incident lives in this channel"):
        await said_in("C0ELSEWHERE", "note from elsewhere")
    await say(kept, "incident open Another")
    with pytest.raises(FracasError, match="No incident lives in this channel"):
        await said_in(lobby, "note which one now")
