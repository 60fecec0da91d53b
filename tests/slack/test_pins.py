"""What a 📌 puts on the timeline, read from messages as Slack really returns them (captures in
tests/data/slack/, sources in its SOURCES.md): an integration's post by the name it posts
under, with what its attachments say; another app's post by its bot's name; a person's as a
mention. And the captured reaction_added delivery itself, re-addressed, through the door."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from test_incidents import deliver, pins_of, until

from bot.config import Catalog
from bot.slack.pins import author_of, pinned, text_of

from fakes.slack_api import FakeSlack
from fakes.slack_workspace import INCIDENTS_ID
from test_slack_app import command, running, settings_for

DATA = Path(__file__).parents[1] / "data" / "slack"


def captured(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def test_an_integrations_post_reads_as_its_attachments_say() -> None:
    message = captured("bot_message_post.json")["message"]
    assert author_of(message) == "grafana_noti"
    text = text_of(message)
    assert text.startswith(
        "*New Scheduled Event Alert !!! :bomb::bomb::bomb:* · [[ Azure Portal ]]"
    )
    assert "EventType: Redeploy" in text and "EventStatus: Scheduled" in text


def test_another_apps_post_is_named_by_its_bot_and_its_reactions_are_read() -> None:
    message = captured("reactions_get.json")["message"]
    assert author_of(message) == "ThorsSlackBotOne"
    assert text_of(message).startswith("Will add a reaction to this")
    assert not pinned(message)
    assert pinned(
        {**message, "reactions": [*message["reactions"], {"name": "pushpin", "count": 1}]}
    )


def test_a_persons_message_is_a_mention_and_an_empty_one_says_so() -> None:
    assert author_of({"user": "U0ANN", "text": "hi"}) == "<@U0ANN>"
    assert text_of({"user": "U0ANN", "text": ""}) == "(a message with no text)"
    huge = text_of({"text": "x" * 50_000})
    assert len(huge) == 3000


async def test_the_captured_delivery_re_addressed_puts_the_message_on_the_timeline(
    slack: FakeSlack,
) -> None:
    catalog = Catalog.model_validate({"incident_channel": INCIDENTS_ID})
    async with running(settings_for(slack), catalog) as (url, deps):
        await command(url, slack, "incident open Captured payloads")
        created = await until(lambda: slack.calls_to("conversations.create"), what="the channel")
        room = created[0].response["channel"]["id"]
        ts = slack.say(room, "pinned through a real delivery's shape", user="U095XJHJ1J5")
        slack.react(room, ts, user="U095XJHJ1J5")  # the fake's state: the 📌 is on
        body = captured("reaction_added.json")
        body["event"] = {
            **body["event"],
            "reaction": "pushpin",
            "item": {"type": "message", "channel": room, "ts": ts},
        }
        body["event_id"] = f"Ev{time.time_ns()}"
        assert await deliver(url, body) == 200
        pins = pins_of(deps, 1)  # the catalog names no series: FM-1
        deadline = time.monotonic() + 10
        while await pins() != ["pinned through a real delivery's shape"]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
