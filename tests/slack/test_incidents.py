"""Issue 14's "done when", through the doors a user uses: signed Slack requests into the real
server stack, Slack answered by the loopback stand-in, Render by its stand-in in the FM-030
state, the store on SQLite and on PostgreSQL. Open FM-31 from Slack, run worker-down in its
channel, pin the alert and two messages, note the cause and two actions, resolve, write the
report; then the report, the timeline and the store hold no secret."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.present.incident import REPORT_NOW
from bot.sandbox.demo import sandbox_resolver
from bot.sandbox.fm030 import Stack, catalog
from bot.sandbox.render_api import FakeRender
from bot.store.engine import open_store
from bot.wiring import build_context

from conftest import stack_settings
from fakes.slack_api import FakeSlack, event_headers, signed_headers, slash_command_body
from fakes.slack_commands import block_actions_body
from fakes.slack_workspace import CALLER_ID, INCIDENTS_ID
from storefixtures import everything_stored
from test_slack_app import SECRET, block_text, running, settings_for

ALERT = (
    "[FIRING:1] CONFIGURATION_ERROR_FATAL threshold exceeded · upload-worker-production · "
    "OSError: [Errno 101] Network is unreachable"
)
LEAD = "U0LEAD"


async def until(check: Callable[[], Any], timeout: float = 20, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return value


async def slash(
    url: str, slack: FakeSlack, text: str, channel: str, user: str = CALLER_ID
) -> httpx.Response:
    body = slash_command_body(
        text, response_url=slack.new_response_url(), channel_id=channel, user_id=user
    )
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            f"{url}/slack/events", content=body, headers=signed_headers(body, SECRET)
        )


async def deliver(url: str, body: dict[str, Any], retry: int = 0) -> int:
    raw = json.dumps(body)
    headers = event_headers(raw, SECRET)
    if retry:
        headers |= {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"}
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.post(f"{url}/slack/events", content=raw, headers=headers)).status_code


async def click(url: str, slack: FakeSlack, action_id: str, value: str, channel: str) -> int:
    body = block_actions_body(
        action_id,
        value,
        message_ts="1.0",
        response_url=slack.new_response_url(),
        channel_id=channel,
    )
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{url}/slack/events", content=body, headers=signed_headers(body, SECRET)
        )
    return response.status_code


def settings(render: FakeRender, slack: FakeSlack, tmp_path: Path, store_url: str, **extra: Any):  # type: ignore[no-untyped-def]
    """The FM-030 stack's catalog, with the incident channel and the team's FM series."""
    base = stack_settings(render, tmp_path)
    data = {**catalog(render), "incident_channel": INCIDENTS_ID, **extra}
    Path(base.fracas_catalog).write_text(yaml.safe_dump(data))
    return base.model_copy(
        update={**settings_for(slack).model_dump(exclude_unset=True), "fracas_store_url": store_url}
    )


def result_in(slack: FakeSlack, channel: str, title: str) -> dict | None:
    """The message in `channel` whose blocks read `title` (a command's result)."""
    for message in slack.messages(channel):
        if title in block_text(message.get("blocks") or []):
            return message
    return None


def header(slack: FakeSlack, channel: str) -> dict:
    (pinned,) = slack.pinned(channel)
    return next(m for m in slack.messages(channel) if m["ts"] == pinned)


async def test_an_incident_from_opening_to_report(
    render: FakeRender, fm030: Stack, tmp_path: Path, store_url: str
) -> None:
    with FakeSlack() as slack:
        config = settings(render, slack, tmp_path, store_url)
        ctx = dataclasses.replace(build_context(config), resolver=sandbox_resolver(fm030))
        async with running(config, ctx=ctx) as (url, deps):
            alert_ts = slack.say(
                INCIDENTS_ID, ALERT, user=None, bot_id="B0ALERTS", username="Alertmanager"
            )
            await asyncio.sleep(1.1)  # the alert fired a moment before anyone opened anything

            # 1. open FM-31 from Slack
            ack = await slash(
                url,
                slack,
                "incident open Production worker down --sev P0 --env production",
                INCIDENTS_ID,
            )
            assert ack.status_code == 200
            created = await until(
                lambda: slack.calls_to("conversations.create"), what="the channel"
            )
            room = created[0].response["channel"]["id"]
            assert created[0].args["name"] == "fm-31-production-worker-down"
            await until(lambda: CALLER_ID in slack.members(room), what="the opener invited")
            await until(lambda: slack.pinned(room), what="the pinned header")
            opened = await until(
                lambda: result_in(slack, INCIDENTS_ID, "FM-31 opened"), what="the answer"
            )
            assert f"<#{room}>" in block_text(opened["blocks"])
            announced = [
                m
                for m in slack.messages(INCIDENTS_ID)
                if "opened by" in block_text(m.get("blocks") or [])
            ]
            assert len(announced) == 1 and f"<#{room}>" in block_text(announced[0]["blocks"])
            first = block_text(header(slack, room)["blocks"])
            assert "FM-31 · P0 · Production worker down" in first and "investigating" in first

            # 2. run worker-down in the incident's channel
            await slash(url, slack, "run worker-down production", room)
            await until(lambda: result_in(slack, room, "Likely cause"), 30, "the runbook")
            shown = await until(
                lambda: (
                    "run worker-down production" in block_text(header(slack, room)["blocks"])
                    and block_text(header(slack, room)["blocks"])
                ),
                what="the header's last findings",
            )
            assert "lacks 3 required" in shown

            # 3. pin the alert message and two others; Slack retries one delivery
            says = [
                slack.say(
                    room,
                    "Restarted the worker: same crash. Its URL is "
                    f"{fm030.database_urls['PRODUCTION_DATABASE_URL']}",
                    user=LEAD,
                ),
                slack.say(
                    room,
                    "Staging's worker uses the Supavisor pooler, production the direct host",
                    user=LEAD,
                ),
            ]
            alert_pin = slack.react(INCIDENTS_ID, alert_ts, user=LEAD)
            assert await deliver(url, alert_pin) == 200
            assert await deliver(url, alert_pin, retry=1) == 200
            for ts in says:
                assert await deliver(url, slack.react(room, ts)) == 200
            assert await deliver(url, slack.react(room, says[0], user=LEAD)) == 200  # pinned twice

            # 4. note the cause and two actions
            for note in (
                "note cause: the worker's DATABASE_URL points at the IPv6-only direct host",
                "note action: set DATABASE_URL to the Supavisor pooler URL (port 6543)",
                "note action: copied the 3 missing variables from the staging worker",
            ):
                await slash(url, slack, note, room, user=LEAD)
            await slash(url, slack, f"incident lead <@{LEAD}|lead>", room)

            # 5. resolve: the resolver alone is asked whether to write the report now
            await slash(
                url, slack, "incident status resolved worker processing again", room, user=LEAD
            )
            asked = await until(
                lambda: [r for r in slack.responses() if REPORT_NOW in json.dumps(r["body"])],
                what="the question about the report",
            )
            assert asked[0]["body"]["response_type"] == "ephemeral"
            assert "resolved" in block_text(header(slack, room)["blocks"])

            # 6. the report, from the button
            assert await click(url, slack, REPORT_NOW, "report FM-31", room) == 200
            uploaded = await until(
                lambda: [
                    f
                    for f in slack.files.values()
                    if f["channel_id"] == room and f["filename"].endswith(".md")
                ],
                what="the report file",
            )
            report = uploaded[0]["content"].decode()

            # written again after another note: the file is replaced, not added
            await slash(
                url, slack, "note prevent: fracas check flags a direct-host DATABASE_URL", room
            )
            await slash(url, slack, "report", room)
            await until(lambda: slack.deleted_files, what="the old report to go")
            reports = [
                f
                for f in slack.files.values()
                if f["channel_id"] == room and f["filename"].endswith(".md")
            ]
            assert len(reports) == 1
            final = reports[0]["content"].decode()
            assert "fracas check flags" in final and "fracas check flags" not in report

            await slash(url, slack, "timeline", room)
            timeline_msg = await until(
                lambda: result_in(slack, room, "FM-31 timeline"), what="the timeline"
            )
            replies = await until(
                lambda: [
                    m for m in slack.messages(room) if m.get("thread_ts") == timeline_msg["ts"]
                ],
                what="the timeline's lines in its thread",
            )
            timeline = block_text(timeline_msg["blocks"] + replies[0]["blocks"])
            store = open_store(store_url)
            try:
                stored = await everything_stored(store)
            finally:
                await store.close()
            entries = await deps.ctx.incidents.timeline(await deps.ctx.incidents.get(31))  # type: ignore[union-attr,arg-type]

    # the timeline: each event once; pins at their own time, by their author
    kinds = [e.kind.value for e in entries]
    assert kinds.count("pin") == 3, kinds
    assert kinds.count("opened") == 1 and kinds.count("status") == 1 and kinds.count("lead") == 1
    alert = next(e for e in entries if e.kind.value == "pin" and e.by_integration)
    assert alert.at == float(alert_ts) and alert.author == "Alertmanager"
    assert entries[0] is alert, "the alert came first"
    finding = [e for e in entries if e.kind.value == "finding"]
    assert len(finding) >= 5 and all(e.link and room in e.link for e in finding)
    assert "Alertmanager" in timeline and "root cause" in timeline

    # the report, in the seeds' structure, with the runbook's findings and the times
    for section in (
        "## 1. Failure summary",
        "## 2. Severity and impact",
        "## 3. Detection",
        "## 4. Timeline",
        "## 5. Findings",
        "## 6. Root cause",
        "## 7. Corrective actions taken",
        "## 8. Prevention",
        "## 9. Success criteria",
        "## 10. Measures",
    ):
        assert section in final, section
    assert "# FM-31: Production worker down" in final
    assert "Root cause: the worker's DATABASE_URL points at the IPv6-only direct host" in final
    assert (
        "set DATABASE_URL to the Supavisor pooler URL" in final and "copied the 3 missing" in final
    )
    assert "Alert (pinned)" in final and "CONFIGURATION_ERROR_FATAL" in final
    assert (
        "lacks 3 required" in final
        and "- [ ] `" in final
        and "- [x] The incident is resolved" in final
    )
    assert "| Time to resolve |" in final and "not reached" not in final.split("## 10. Measures")[1]

    leaked = [
        label
        for label, value in fm030.secrets.items()
        if value in final + report + timeline + stored
    ]
    assert not leaked, f"secrets kept or shown: {leaked}"


def quick(slack: FakeSlack, **extra: Any):  # type: ignore[no-untyped-def]
    """A catalog with the incident channel and nothing else: no runbook needed here."""
    from bot.config import Catalog

    return settings_for(slack, **extra), Catalog.model_validate(
        {"incident_channel": INCIDENTS_ID, "incidents": {"prefix": "FM", "start": 31}}
    )


async def opened(url: str, slack: FakeSlack, title: str) -> str:
    """Open an incident from #incidents; its own channel, once its header is pinned there."""
    await slash(url, slack, f"incident open {title}", INCIDENTS_ID)
    made = await until(
        lambda: [c for c in slack.calls_to("conversations.create") if c.response.get("ok")],
        what="the channel",
    )
    room = str(made[-1].response["channel"]["id"])
    await until(lambda: slack.pinned(room), what="the header")
    return room


async def test_slack_holding_back_a_new_channel_is_waited_out(slack: FakeSlack) -> None:
    """conversations.create is Tier 2: a 429 is waited out, not taken for a refusal."""
    slack.fail_next("conversations.create", status=429, retry_after=1)
    config, catalog = quick(slack)
    async with running(config, catalog) as (url, deps):
        room = await opened(url, slack, "Storm of incidents")
        incident = await deps.ctx.incidents.get(31)  # type: ignore[union-attr]
    assert [c.status for c in slack.calls_to("conversations.create")] == [429, 200]
    assert incident is not None and incident.channel == room and incident.own_channel


def headers_posted(slack: FakeSlack, channel: str) -> list[dict]:
    return [
        c.args
        for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == channel and "timeline entr" in json.dumps(c.args.get("blocks"))
    ]


async def test_without_channels_manage_the_incident_lives_where_it_was_opened(
    slack: FakeSlack,
) -> None:
    slack.revoke("channels:manage")
    config, catalog = quick(slack)
    async with running(config, catalog) as (url, deps):
        await slash(url, slack, "incident open Uploads stuck --sev P2", INCIDENTS_ID)
        opened = await until(
            lambda: result_in(slack, INCIDENTS_ID, "FM-31 opened"), what="the answer"
        )
        await until(lambda: slack.pinned(INCIDENTS_ID), what="the header, pinned here")
        incident = await deps.ctx.incidents.get(31)  # type: ignore[union-attr]
    said = block_text(opened["blocks"])
    assert "It lives in this channel: I could not make one" in said
    assert "missing_scope: the app needs the channels:manage scope" in said
    assert incident is not None and incident.channel == INCIDENTS_ID and not incident.own_channel
    announced = [
        m for m in slack.messages(INCIDENTS_ID) if "opened by" in block_text(m.get("blocks") or [])
    ]
    assert announced == [], "the incident channel is where it lives: no announcement too"


async def test_the_header_is_one_message_edited_at_every_change(slack: FakeSlack) -> None:
    config, catalog = quick(slack)
    async with running(config, catalog) as (url, _):
        room = await opened(url, slack, "Checkout errors --sev P1")
        for text in (
            "incident sev P0",
            "incident lead me",
            "incident status identified bad deploy",
        ):
            await slash(url, slack, text, room)
        await until(
            lambda: (
                "identified" in block_text(header(slack, room)["blocks"])
                and "P0" in block_text(header(slack, room)["blocks"])
                and f"<@{CALLER_ID}>" in block_text(header(slack, room)["blocks"])
            ),
            what="the header to show every change: " + block_text(header(slack, room)["blocks"]),
        )
        (pinned_ts,) = slack.pinned(room)
        edits = [
            c.args
            for c in slack.calls_to("chat.update")
            if c.args["channel"] == room and c.args["ts"] == pinned_ts
        ]
    assert len(headers_posted(slack, room)) == 1, "posted once"
    assert len(edits) >= 3, "then edited in place"
    for title in ("FM-31 severity", "FM-31 lead", "FM-31 is identified"):
        assert result_in(slack, room, title) is not None, f"{title} is posted"


async def test_taking_the_last_pin_off_takes_the_message_off_the_timeline(slack: FakeSlack) -> None:
    config, catalog = quick(slack)
    async with running(config, catalog) as (url, deps):
        room = await opened(url, slack, "Search down")
        ts = slack.say(room, "search nodes out of disk", user=LEAD)
        elsewhere = slack.say(INCIDENTS_ID, "unrelated chatter", user=LEAD)
        pins = pins_of(deps)
        assert await deliver(url, slack.react(room, ts, user=LEAD)) == 200
        assert await deliver(url, slack.react(room, ts, user=CALLER_ID)) == 200
        await wait_for(pins, ["search nodes out of disk"])
        assert await deliver(url, slack.unreact(room, ts, user=LEAD)) == 200
        await asyncio.sleep(0.5)
        assert await pins() == ["search nodes out of disk"], "one 📌 is still on it"
        assert await deliver(url, slack.unreact(room, ts, user=CALLER_ID)) == 200
        await wait_for(pins, [])
        # in the incident channel, with one incident open, a pin counts; with two, it does not
        await slash(url, slack, "incident open Second one", INCIDENTS_ID)
        await until(lambda: len(slack.calls_to("conversations.create")) == 2, what="the second")
        assert await deliver(url, slack.react(INCIDENTS_ID, elsewhere, user=LEAD)) == 200
        await asyncio.sleep(0.8)
        assert await pins() == []
        other = slack.say(room, "a thumbs-up is not a pin", user=LEAD)
        assert await deliver(url, slack.react(room, other, name="thumbsup")) == 200
        await asyncio.sleep(0.5)
        assert await pins() == []


def pins_of(deps: Any, number: int = 31) -> Callable[[], Any]:
    """Reads FM-<number>'s pinned entries, as their texts."""

    async def pins() -> list[str]:
        incident = await deps.ctx.incidents.get(number)
        return [
            e.text for e in await deps.ctx.incidents.timeline(incident) if e.kind.value == "pin"
        ]

    return pins


async def wait_for(read: Callable[[], Any], wanted: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while (got := await read()) != wanted:
        assert time.monotonic() < deadline, f"timeline pins {got!r}, wanted {wanted!r}"
        await asyncio.sleep(0.05)


async def test_a_pin_over_socket_mode_redelivered_is_one_entry(slack: FakeSlack) -> None:
    config, catalog = quick(slack, slack_signing_secret=None, slack_app_token="xapp-fake")
    async with running(config, catalog) as (_, deps):
        await slack.socket_slash_command("incident open Socket pins")
        created = await until(lambda: slack.calls_to("conversations.create"), what="the channel")
        room = created[0].response["channel"]["id"]
        ts = slack.say(room, "the pooler is refusing connections", user=LEAD)
        body = slack.react(room, ts, user=LEAD)
        await slack.socket_event(body)
        await slack.socket_event(body, retry_attempt=1)
        pins = pins_of(deps)
        await wait_for(pins, ["the pooler is refusing connections"])
        listed = [j for j in await deps.jobs.recent(since=0) if j.kind == "slack.pin"]
    assert len(listed) == 1, "the redelivery was not a second job"


async def test_a_secret_typed_pinned_or_noted_stays_out_of_slack_and_the_store(
    slack: FakeSlack, store_url: str
) -> None:
    key = "sk-proj-Tq8WcN2vLx9RbJ4mZp7YdK3sFg6HaE1u"
    config, catalog = quick(slack, fracas_store_url=store_url)
    async with running(config, catalog) as (url, _):
        await slash(url, slack, f"incident open leaked {key} in logs", INCIDENTS_ID)
        created = await until(lambda: slack.calls_to("conversations.create"), what="the channel")
        room = created[0].response["channel"]["id"]
        await until(lambda: slack.pinned(room), what="the header")
        ts = slack.say(room, f"the worker logged OPENAI_API_KEY={key}", user=LEAD)
        await deliver(url, slack.react(room, ts, user=LEAD))
        await slash(url, slack, f"note cause: {key} was printed by a debug line", room)
        await slash(url, slack, "timeline", room)
        await until(lambda: result_in(slack, room, "FM-31 timeline"), what="the timeline")
        await slash(url, slack, "report", room)
        await until(
            lambda: [f for f in slack.files.values() if f["channel_id"] == room], what="the report"
        )
        await asyncio.sleep(0.3)
    store = open_store(store_url)
    try:
        stored = await everything_stored(store)
    finally:
        await store.close()
    posted = json.dumps([c.args for c in slack.calls if c.method != "conversations.create"])
    files = "".join(f["content"].decode() for f in slack.files.values())
    assert key not in stored and key not in files
    sent = [c for c in slack.calls if key in json.dumps(c.args)]
    assert [c.method for c in sent] == [], "nothing fracas sent to Slack held the key"
    assert "OPENAI_API_KEY" in stored and "debug line" in files and posted


async def test_with_the_store_down_a_pin_is_refused_so_that_slack_sends_it_again(
    slack: FakeSlack,
) -> None:
    """Not a 5xx, and not a 200 that would lose it: Slack retries any other answer."""
    from bot.sandbox.database import free_port

    config, catalog = quick(slack, fracas_store_url=f"postgresql://u:pw@127.0.0.1:{free_port()}/x")
    async with running(config, catalog, worker=False) as (url, _):
        ts = slack.say(INCIDENTS_ID, "worker down again", user=LEAD)
        started = time.perf_counter()
        status = await deliver(url, slack.react(INCIDENTS_ID, ts, user=LEAD))
        took = time.perf_counter() - started
    assert status == 400 and took < 3


async def test_a_command_run_in_the_channel_is_on_the_timeline_with_its_link(
    slack: FakeSlack,
) -> None:
    config, catalog = quick(slack)
    async with running(config, catalog) as (url, deps):
        room = await opened(url, slack, "Worker cannot reach its database")
        await slash(url, slack, "finding", room)  # a check that fails (test_slack_app.actions)
        posted = await until(lambda: result_in(slack, room, "worker in production"), what="it")
        incidents = deps.ctx.incidents
        assert incidents is not None
        incident = await incidents.get(31)
        assert incident is not None

        async def commands() -> list[Any]:
            return [e for e in await incidents.timeline(incident) if e.kind.value == "command"]

        found = await until_async(commands)
        await until(lambda: "`finding`" in block_text(header(slack, room)["blocks"]), what="header")
    (entry,) = found
    assert entry.verdict is not None and entry.verdict.value == "fail"
    assert entry.text.startswith("DATABASE_URL host has only IPv6 addresses")
    assert entry.link == f"https://fake.slack.com/archives/{room}/p{posted['ts'].replace('.', '')}"
    assert entry.lines[:1] == ("service: upload-worker-production",)


async def until_async(read: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := await read()) or not all(e.link for e in value):
        assert time.monotonic() < deadline, f"still {value!r}"
        await asyncio.sleep(0.05)
    return value


async def test_a_pin_event_of_an_odd_shape_is_acknowledged_and_ignored(slack: FakeSlack) -> None:
    """Signed but odd (a file's reaction, no item, an item that is not an object): a 200, no
    job, no 5xx."""
    config, catalog = quick(slack)
    async with running(config, catalog, worker=False) as (url, deps):
        base = slack.react(INCIDENTS_ID, slack.say(INCIDENTS_ID, "x", user=LEAD))
        odd = [
            {**base["event"], "item": {"type": "file", "file": "F1"}},
            {k: v for k, v in base["event"].items() if k != "item"},
            {**base["event"], "item": "C0123456789/1.2"},
            {**base["event"], "item": {"type": "message"}},
        ]
        codes = [
            await deliver(url, {**base, "event": event, "event_id": f"Ev{n}"})
            for n, event in enumerate(odd)
        ]
        queued = await deps.jobs.recent(since=0)
    assert codes == [200, 200, 200, 200] and queued == []
