"""Issue 14 part 5 with real processes: two `fracas serve` replicas on one PostgreSQL store,
on the Slack and Render stand-ins, receive the same deliveries (the same opening, the same 📌,
Slack's retries with `x-slack-retry-num`, the same status command). Each delivery is one job,
each event one timeline entry, and no incident number or channel is handed out twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.engine import Row

from bot.sandbox.fm030 import Stack, catalog
from bot.sandbox.render_api import FakeRender
from bot.store.engine import open_store
from bot.store.tables import incidents, jobs, timeline

from fakes.pg import TempDatabase
from fakes.slack_api import FakeSlack, event_headers, signed_headers, slash_command_body
from fakes.slack_workspace import CALLER_ID, INCIDENTS_ID
from fleet import SECRET, Proc, fleet_env, serve, stopped, top_level
from test_slack_app import block_text

pytestmark = pytest.mark.timeout(120)
LEAD = "U0LEAD"
WORKING = "Working on"


@pytest.fixture
def pg_store(pg_admin: str) -> Iterator[str]:
    with TempDatabase(pg_admin) as db:
        yield db.url


@contextlib.asynccontextmanager
async def replicas(
    slack: FakeSlack, render: FakeRender, home: Path, store_url: str
) -> AsyncIterator[tuple[Proc, Proc]]:
    """Two `fracas serve` on one store, with the catalog's incident channel set (alerts land
    there, incidents are announced there)."""
    env = fleet_env(slack, render, home, store_url)
    data = {**catalog(render), "incident_channel": INCIDENTS_ID}
    (home / "fracas.yaml").write_text(yaml.safe_dump(data))
    a, b = await asyncio.gather(serve(env, home / "a"), serve(env, home / "b"))
    try:
        with stopped(a, b):
            yield a, b
    finally:  # shown when a test fails: what each replica logged
        for proc in (a, b):
            print(f"--- {proc.log}\n{proc.output()}")


def command_body(slack: FakeSlack, text: str, trigger: str, channel: str = INCIDENTS_ID) -> str:
    """One slash-command delivery; posting the same body again is Slack delivering it again."""
    return slash_command_body(
        text, response_url=slack.new_response_url(), trigger_id=trigger, channel_id=channel
    )


def retried(headers: dict[str, str], retry: int) -> dict[str, str]:
    if not retry:
        return headers
    return headers | {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"}


async def send(proc: Proc, body: str, retry: int = 0) -> httpx.Response:
    """A signed slash command (form-encoded) to one replica."""
    headers = retried(signed_headers(body, SECRET), retry)
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(f"{proc.url}/slack/events", content=body, headers=headers)


async def deliver(proc: Proc, event: dict[str, Any], retry: int = 0) -> int:
    """A signed Events API delivery (JSON) to one replica; its HTTP status."""
    raw = json.dumps(event)
    headers = retried(event_headers(raw, SECRET), retry)
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{proc.url}/slack/events", content=raw, headers=headers)
    return response.status_code


def working(acks: list[httpx.Response]) -> int:
    """How many acks said "Working on…": a delivery that became a new job."""
    return sum(1 for ack in acks if ack.content and WORKING in ack.json().get("text", ""))


@dataclass
class Stored:
    """The store's incidents, timeline and jobs, as both replicas see them."""

    incidents: list[Row[Any]]
    timeline: list[Row[Any]]
    jobs: list[Row[Any]]

    def kinds(self, kind: str) -> list[Row[Any]]:
        return [entry for entry in self.timeline if entry.kind == kind]

    def job(self, key: str) -> list[Row[Any]]:
        return [job for job in self.jobs if job.key == key]


async def read_store(url: str) -> Stored:
    store = open_store(url)
    try:
        async with store.read() as conn:
            made = (await conn.execute(select(incidents).order_by(incidents.c.number))).all()
            entries = (await conn.execute(select(timeline).order_by(timeline.c.id))).all()
            queue = (await conn.execute(select(jobs).order_by(jobs.c.id))).all()
    finally:
        await store.close()
    return Stored(made, entries, queue)


async def settled(
    url: str, count: int, check: Callable[[Stored], bool] = lambda _: True, timeout: float = 30
) -> Stored:
    """The store once it holds `count` jobs, none queued or running, and `check` holds; fails
    with what it holds after `timeout` seconds. Every delivery's job is stored before its ack,
    so `count` is known when the last POST returns."""
    deadline = time.monotonic() + timeout
    while True:
        now = await read_store(url)
        busy = [job for job in now.jobs if job.state in ("queued", "running")]
        if len(now.jobs) == count and not busy and check(now):
            return now
        if time.monotonic() > deadline:
            states = [(job.key, job.state) for job in now.jobs]
            kinds = [entry.kind for entry in now.timeline]
            raise AssertionError(f"store not settled in {timeout:g} s: {states} {kinds}")
        await asyncio.sleep(0.1)


def ran_once(now: Stored) -> None:
    """Every job done, each on its first attempt: nothing ran twice, on either replica."""
    assert [(job.key, job.state, job.attempts) for job in now.jobs] == [
        (job.key, "done", 1) for job in now.jobs
    ]


def header(slack: FakeSlack, channel: str) -> str:
    """What the incident's pinned header reads now."""
    (pinned,) = slack.pinned(channel)
    (message,) = [m for m in slack.messages(channel) if m["ts"] == pinned]
    return block_text(message["blocks"])


def reading(slack: FakeSlack, channel: str, words: str) -> list[dict[str, Any]]:
    """Top-level messages in `channel` whose blocks say `words`."""
    return [m for m in top_level(slack, channel) if words in block_text(m.get("blocks") or [])]


async def open_one(slack: FakeSlack, proc: Proc, store_url: str) -> str:
    """FM-31 opened at one replica, its job run; its channel's id, as conversations.create
    answered it."""
    ack = await send(proc, command_body(slack, "incident open Worker down --sev P0", "1.T0.open"))
    assert working([ack]) == 1
    now = await settled(store_url, 1)
    (created,) = slack.calls_to("conversations.create")
    room = str(created.response["channel"]["id"])
    (incident,) = now.incidents
    assert (incident.number, incident.channel) == (31, room)
    return room


async def test_openings_at_both_replicas_get_one_number_and_one_channel_each(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path, pg_store: str
) -> None:
    """Six openings split across the replicas, at once, plus one opening delivered to both and
    retried: the advisory lock hands out 31..37 once each, the open key finds the incident a
    delivery made already, so seven channels are made, each once, each with its own header."""
    titles = [f"Outage {name}" for name in ("alpha", "bravo", "charlie", "delta", "echo", "fox")]
    async with replicas(slack, render, tmp_path, pg_store) as (a, b):
        bodies = [
            command_body(slack, f"incident open {t}", f"{i}.T0.open") for i, t in enumerate(titles)
        ]
        twice = command_body(slack, "incident open Same opening twice --sev P2", "9.T0.twice")
        acks = await asyncio.gather(
            *(send(a if i % 2 else b, body) for i, body in enumerate(bodies)),
            send(a, twice),
            send(b, twice),
            send(a, twice, retry=1),
        )
        assert [ack.status_code for ack in acks] == [200] * 9
        assert working(acks[:6]) == 6
        assert working(acks[6:]) == 1  # the same delivery three times: one job, one answer
        now = await settled(pg_store, 7)

    ran_once(now)
    assert [i.number for i in now.incidents] == list(range(31, 38))
    assert sorted(i.title for i in now.incidents) == sorted([*titles, "Same opening twice"])
    assert len({i.open_key for i in now.incidents}) == 7
    created = slack.calls_to("conversations.create")
    assert [c.response["ok"] for c in created] == [True] * 7  # no name_taken: none made twice
    made = {str(c.response["channel"]["id"]): str(c.args["name"]) for c in created}
    assert len(made) == 7 and len(set(made.values())) == 7
    for incident in now.incidents:
        assert made[incident.channel].startswith(f"fm-{incident.number}-"), made
        assert not incident.channel_note and incident.header_ts and incident.announce_ts
        assert slack.pinned(incident.channel) == [incident.header_ts]
        assert f"FM-{incident.number} · " in header(slack, incident.channel)
        assert len(reading(slack, INCIDENTS_ID, f"FM-{incident.number} opened")) == 1
        assert len(reading(slack, INCIDENTS_ID, f"*FM-{incident.number}* (")) == 1  # announced
    assert len(top_level(slack, INCIDENTS_ID)) == 14  # 7 answers, 7 announcements, no more
    assert sorted(e.incident for e in now.kinds("opened")) == list(range(31, 38))
    assert len(now.timeline) == 7


async def test_the_same_pin_at_both_replicas_and_its_retries_is_one_entry(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path, pg_store: str
) -> None:
    """One reaction_added delivered to both replicas and retried to both is one job; another
    person's 📌 is another event on the same message, so still one entry, also when the two
    events' jobs run at once on the two replicas; the entry goes only when the last 📌 is
    taken off, because each job reads the reactions as they are then (reactions.get)."""
    async with replicas(slack, render, tmp_path, pg_store) as (a, b):
        room = await open_one(slack, a, pg_store)
        said = "Restarted the worker: same crash"
        ts = slack.say(room, said, user=LEAD)

        first = slack.react(room, ts, user=CALLER_ID)
        assert await asyncio.gather(deliver(a, first), deliver(b, first)) == [200, 200]
        assert await asyncio.gather(deliver(a, first, 1), deliver(b, first, 2)) == [200, 200]
        now = await settled(pg_store, 2)
        assert len(now.job(f"slack:event:{first['event_id']}")) == 1
        (pin,) = now.kinds("pin")
        assert (pin.key, pin.author, pin.text) == (f"pin:{room}:{ts}", f"<@{LEAD}>", said)
        assert pin.at == float(ts)  # when the message was posted, not when it was pinned
        assert "2 timeline entries" in header(slack, room)  # opened, and the pin

        second = slack.react(room, ts, user=LEAD)
        assert await asyncio.gather(deliver(b, second), deliver(a, second, 1)) == [200, 200]
        now = await settled(pg_store, 3)
        assert [p.id for p in now.kinds("pin")] == [pin.id]  # the same entry, not a new one

        other = slack.say(room, "Staging's worker uses the pooler", user=CALLER_ID)
        both = [slack.react(room, other, user=user) for user in (CALLER_ID, LEAD)]
        sent = [deliver(a, both[0]), deliver(b, both[1]), deliver(b, both[0], 1)]
        assert await asyncio.gather(*sent, deliver(a, both[1], 1)) == [200] * 4
        now = await settled(pg_store, 5)
        assert sorted(p.key for p in now.kinds("pin")) == sorted(
            f"pin:{room}:{t}" for t in (ts, other)
        )

        off = slack.unreact(room, ts, user=CALLER_ID)  # the lead's 📌 is still on
        sent = [deliver(a, off), deliver(b, off), deliver(b, off, 1)]
        assert await asyncio.gather(*sent) == [200] * 3
        now = await settled(pg_store, 6)
        assert pin.id in [p.id for p in now.kinds("pin")]

        last = slack.unreact(room, ts, user=LEAD)
        sent = [deliver(b, last), deliver(a, last), deliver(a, last, 1)]
        assert await asyncio.gather(*sent) == [200] * 3
        now = await settled(pg_store, 7, lambda s: len(s.kinds("pin")) == 1)
        shown = header(slack, room)

    ran_once(now)
    assert [(e.kind, e.key) for e in now.timeline] == [
        ("opened", "opened"),
        ("pin", f"pin:{room}:{other}"),
    ]
    assert len(slack.calls_to("reactions.get")) == 6  # six events, each read once
    assert "2 timeline entries" in shown


async def test_the_same_status_command_at_both_replicas_changes_the_incident_once(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path, pg_store: str
) -> None:
    """`incident status identified` with one trigger_id, to both replicas and retried: one job,
    one status entry, one result in the incident's channel, the header edited to match."""
    async with replicas(slack, render, tmp_path, pg_store) as (a, b):
        room = await open_one(slack, a, pg_store)
        body = command_body(
            slack, "incident status identified the pooler URL was wrong", "2.T0.status", room
        )
        acks = await asyncio.gather(send(a, body), send(b, body))
        acks.append(await send(b, body, retry=1))
        assert [ack.status_code for ack in acks] == [200] * 3
        assert working(acks) == 1
        now = await settled(pg_store, 2)
        shown = header(slack, room)
        answers = reading(slack, room, "FM-31 is identified")

    ran_once(now)
    (incident,) = now.incidents
    assert incident.status == "identified"
    (status,) = now.kinds("status")
    assert status.text == "investigating → identified: the pooler URL was wrong"
    assert status.key == "slack:trigger:2.T0.status:status"
    assert ":bulb: identified" in shown and "investigating" not in shown
    assert len(answers) == 1
    assert len(now.timeline) == 2
