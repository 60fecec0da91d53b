"""The Slack door end to end: signed HTTP requests into the real server stack, Slack's Web API
answered by the loopback stand-in, Socket Mode over a real websocket."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import pytest
import uvicorn
from pydantic import BaseModel, ConfigDict

from bot.actions.all import ACTIONS
from bot.actions.registry import Action, ActionContext
from bot.config import Catalog, Settings
from bot.errors import FracasError
from bot.incidents.repository import Incidents
from bot.results import Attachment, StepResult, Verdict
from bot.sandbox.database import free_port
from bot.server import assemble, http_config
from bot.slack.client import SlackPoster
from bot.slack.pacing import Pace
from bot.store.engine import open_store
from bot.store.jobs import Jobs
from bot.store.migrate import migrate
from bot.wiring import Deps
from bot.work.process import build_worker

from fakes.slack_api import FakeSlack, signed_headers, slash_command_body

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0123456789"


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


async def _finding(ctx: ActionContext, params: NoParams) -> StepResult:
    """A slow check that finds a failure and has a lot of evidence."""
    await asyncio.sleep(0.05)
    return StepResult(
        Verdict.FAIL,
        "worker in production",
        "DATABASE_URL host has only IPv6 addresses; Render cannot reach IPv6.",
        facts=(("service", "upload-worker-production"), ("host", "db.abc.supabase.co")),
        details=tuple(
            f"2026-11-23T03:{i % 60:02d}:00Z OSError: [Errno 101] Network is "
            f"unreachable (attempt {i})"
            for i in range(2000)
        ),
        hints=("Use the Supavisor pooler host (port 5432 or 6543).",),
        attachments=(Attachment("window.log", "line\n" * 10),),
    )


async def _crash(ctx: ActionContext, params: NoParams) -> StepResult:
    """Fails in our own code."""
    raise RuntimeError("boom in our own code")


async def _known_failure(ctx: ActionContext, params: NoParams) -> StepResult:
    """Fails in a way we can explain."""
    raise FracasError("Render answered 503.", "Try again in a minute.")


def actions() -> dict[str, Action]:
    extra = {
        name: Action(name, NoParams, fn.__doc__ or "", fn)
        for name, fn in (("finding", _finding), ("crash", _crash), ("known", _known_failure))
    }
    return {**ACTIONS, **extra}


def settings_for(slack: FakeSlack, **extra: Any) -> Settings:
    base = {
        "slack_bot_token": "xoxb-fake",
        "slack_signing_secret": SECRET,
        "slack_api_url": slack.api_url,
    }
    return Settings(_env_file=None, **{**base, **extra})


@asynccontextmanager
async def running(
    settings: Settings,
    catalog: Catalog | None = None,
    ctx: ActionContext | None = None,
    worker: bool = True,
    **limits: float,
) -> AsyncIterator[tuple[str, Deps]]:
    """The bot's own assembly behind uvicorn as `fracas serve` runs it, on a free port, with
    one worker on this loop (so test-only actions run; `worker=False`: none) on a store of its
    own: a new SQLite file unless `settings` names one (then it is migrated if reachable)."""
    with tempfile.TemporaryDirectory(prefix="fracas-store-") as where:
        if "fracas_store_url" not in settings.model_fields_set:
            settings = settings.model_copy(update={"fracas_store_url": f"sqlite:///{where}/s.db"})
        store = open_store(settings.fracas_store_url)
        with contextlib.suppress(OSError):
            await migrate(store)
        jobs = Jobs(store)
        base = ctx or ActionContext(catalog or Catalog(), actions())
        incidents = Incidents(store, base.redactor)
        deps = Deps(settings, dataclasses.replace(base, jobs=jobs, incidents=incidents), jobs)
        poster = SlackPoster(settings, Pace(store))
        stopping = asyncio.Event()
        working = None
        if worker:
            one = build_worker(deps, poster)
            deps.nudge = one.nudge
            working = asyncio.create_task(one.run(stopping))
        session = aiohttp.ClientSession()
        parts = assemble(deps, session)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(http_config(parts.web, "127.0.0.1", 0, **limits))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        if parts.socket is not None:
            await parts.socket.connect_async()
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}", deps
        finally:
            await parts.close()
            server.should_exit = True
            await task
            stopping.set()
            if working is not None:
                await working
            await poster.close()
            await session.close()
            await base.aclose()
            await store.close()


async def command(
    url: str, slack: FakeSlack, text: str, secret: str = SECRET, timestamp: int | None = None
) -> httpx.Response:
    body = slash_command_body(text, response_url=slack.new_response_url())
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"{url}/slack/events", content=body, headers=signed_headers(body, secret, timestamp)
        )


def block_text(blocks: list[dict]) -> str:
    """Every text a user would read in these blocks."""
    out = []
    for block in blocks:
        for part in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            text = part.get("text") if isinstance(part, dict) else None
            text = text.get("text") if isinstance(text, dict) else text  # a button's label
            if isinstance(text, str):
                out.append(text)
    return "\n".join(out)


async def test_help_is_answered_in_the_ack_itself(slack: FakeSlack, catalog: Catalog) -> None:
    async with running(settings_for(slack), catalog) as (url, _):
        started = time.perf_counter()
        response = await command(url, slack, "help")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    body = response.json()
    assert body.get("response_type", "ephemeral") == "ephemeral"
    shown = block_text(body["blocks"])
    assert "fracas commands" in shown and "envdiff &lt;service&gt;" in shown
    assert elapsed < 3.0  # Slack's deadline
    assert slack.calls_to("chat.postMessage") == []


async def test_a_command_is_acked_then_its_result_posted(
    slack: FakeSlack, catalog: Catalog
) -> None:
    async with running(settings_for(slack), catalog) as (url, _):
        response = await command(url, slack, "finding")
        assert response.status_code == 200
        assert "Working on `finding`" in response.json()["text"]
        posts = await slack.await_for("chat.postMessage", count=2)
        await slack.await_for("files.completeUploadExternal", count=2)
    main, thread = posts[0].args, posts[1].args
    assert main["channel"] == CHANNEL and "thread_ts" not in main
    assert "IPv6" in main["text"]
    shown = block_text(main["blocks"])
    assert "worker in production" in shown and "Supavisor pooler" in shown
    assert "<@U0CALLER>" in shown
    assert thread["thread_ts"] == posts[0].response["ts"]
    assert "Errno 101" in block_text(thread["blocks"])
    assert "more lines" in block_text(thread["blocks"])
    files = {f["filename"]: f for f in slack.files.values()}
    assert files["window.log"]["thread_ts"] == posts[0].response["ts"]
    whole = files["worker-in-production.txt"]["content"].decode()
    assert whole.count("Errno 101") == 2000  # nothing lost: the cut part is in the file


async def test_bad_signature_is_refused(slack: FakeSlack, catalog: Catalog) -> None:
    async with running(settings_for(slack), catalog) as (url, _):
        response = await command(url, slack, "finding", secret="not-the-secret")
    assert response.status_code == 401
    assert slack.calls_to("chat.postMessage") == []


async def test_a_replayed_request_older_than_five_minutes_is_refused(
    slack: FakeSlack, catalog: Catalog
) -> None:
    async with running(settings_for(slack), catalog) as (url, _):
        response = await command(url, slack, "help", timestamp=int(time.time()) - 301)
    assert response.status_code == 401


async def test_unknown_verb_gets_did_you_mean_only_for_the_caller(
    slack: FakeSlack, catalog: Catalog
) -> None:
    async with running(settings_for(slack), catalog) as (url, _):
        response = await command(url, slack, "stauts production")
    body = response.json()
    assert response.status_code == 200
    assert body.get("response_type", "ephemeral") == "ephemeral"
    assert "Did you mean 'status'?" in body["text"]
    assert slack.calls_to("chat.postMessage") == []


async def test_a_429_from_slack_is_waited_out_and_the_message_arrives(
    slack: FakeSlack, catalog: Catalog
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    async with running(settings_for(slack), catalog) as (url, _):
        await command(url, slack, "finding")
        posts = await slack.await_for("chat.postMessage", count=3, timeout=10)
    assert posts[0].status == 429
    assert posts[1].status == 200 and posts[1].response["ok"]
    assert posts[1].at - posts[0].at >= 1.0  # Retry-After honoured
    assert len(slack.messages(CHANNEL)) == 2  # main + thread, once each


async def test_a_crash_in_an_action_becomes_a_clear_ephemeral_error(
    slack: FakeSlack, catalog: Catalog
) -> None:
    async with running(settings_for(slack), catalog) as (url, _):
        assert (await command(url, slack, "crash")).status_code == 200
        await slack.await_for("response_url")
        after = await command(url, slack, "help")  # the bot is still serving
    reply = slack.responses()[0]["body"]
    assert reply["response_type"] == "ephemeral"
    assert "internal error running `crash`" in reply["text"] and "ref " in reply["text"]
    assert "boom" not in reply["text"]  # internals stay in the log
    assert after.status_code == 200


async def test_a_known_failure_is_explained(slack: FakeSlack, catalog: Catalog) -> None:
    async with running(settings_for(slack), catalog) as (url, _):
        await command(url, slack, "known")
        await slack.await_for("response_url")
    assert "Render answered 503. Try again in a minute." in slack.responses()[0]["body"]["text"]


async def test_where_the_bot_is_not_a_member_the_result_still_arrives(
    slack: FakeSlack, catalog: Catalog
) -> None:
    slack.set_not_in_channel(CHANNEL)
    async with running(settings_for(slack), catalog) as (url, _):
        await command(url, slack, "finding")
        await slack.await_for("response_url", count=2)
    public, tip = (r["body"] for r in slack.responses())
    assert public["response_type"] == "in_channel" and "IPv6" in public["text"]
    assert tip["response_type"] == "ephemeral" and "/invite @fracas" in tip["text"]


async def test_healthz(slack: FakeSlack, catalog: Catalog) -> None:
    async with running(settings_for(slack), catalog) as (url, _), httpx.AsyncClient() as client:
        response = await client.get(f"{url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "mode": "http", "store": "ok", "workers": "ok"}


async def test_healthz_is_503_without_a_worker_or_a_store_and_says_which(
    slack: FakeSlack, catalog: Catalog
) -> None:
    async with (
        running(settings_for(slack), catalog, worker=False) as (url, _),
        httpx.AsyncClient() as client,
    ):
        idle = await client.get(f"{url}/healthz")
    assert idle.status_code == 503
    assert idle.json()["store"] == "ok"
    assert idle.json()["workers"].startswith("no worker has sent a heartbeat")
    gone = settings_for(slack, fracas_store_url=f"postgresql://u:pw@127.0.0.1:{free_port()}/x")
    async with running(gone, catalog, worker=False) as (url, _), httpx.AsyncClient() as client:
        started = time.perf_counter()
        down = await client.get(f"{url}/healthz")
        took = time.perf_counter() - started
    assert down.status_code == 503 and took < 3
    assert down.json()["store"].startswith("unreachable (")
    assert "pw" not in down.text


async def test_socket_mode_runs_the_same_commands(slack: FakeSlack, catalog: Catalog) -> None:
    settings = settings_for(slack, slack_signing_secret=None, slack_app_token="xapp-fake")
    async with running(settings, catalog) as (url, _):
        helped = await slack.socket_slash_command("help")
        working = await slack.socket_slash_command("finding")
        posts = await slack.await_for("chat.postMessage", count=2)
        async with httpx.AsyncClient() as client:
            events = await client.post(f"{url}/slack/events", content="x")
    assert "fracas commands" in block_text(helped["blocks"])
    assert "Working on `finding`" in working["text"]
    assert "IPv6" in posts[0].args["text"]
    assert events.status_code == 404  # no HTTP events route in Socket Mode


async def test_a_socket_mode_envelope_redelivered_runs_once(
    slack: FakeSlack, catalog: Catalog
) -> None:
    settings = settings_for(slack, slack_signing_secret=None, slack_app_token="xapp-fake")
    async with running(settings, catalog) as (_, deps):
        first = await slack.socket_slash_command("finding", trigger_id="77.T0FAKE.same")
        again = await slack.socket_slash_command(
            "finding", trigger_id="77.T0FAKE.same", retry_attempt=1
        )
        await slack.await_for("files.completeUploadExternal", count=2)
        listed = await deps.jobs.recent(since=0)
    assert "Working on `finding`" in first["text"] and again == {}
    mains = [c for c in slack.calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    assert len(mains) == 1 and len(listed) == 1


async def post_json(url: str, body: str, secret: str = SECRET) -> httpx.Response:
    headers = {**signed_headers(body, secret), "content-type": "application/json"}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{url}/slack/events", content=body, headers=headers)


async def test_malformed_bodies_get_400_with_a_reason_and_forgeries_401(
    slack: FakeSlack, catalog: Catalog
) -> None:
    async with running(settings_for(slack), catalog) as (url, _):
        malformed = await post_json(url, "{not json")
        forged = await post_json(url, "{not json", secret="wrong")
        healthy = await command(url, slack, "help")
    assert malformed.status_code == 400 and "malformed body" in malformed.json()["error"]
    assert forged.status_code == 401
    assert healthy.status_code == 200


async def test_events_the_manifest_subscribes_to_are_acknowledged(
    slack: FakeSlack, catalog: Catalog
) -> None:
    reaction = {
        "type": "event_callback",
        "team_id": "T0FAKE",
        "api_app_id": "A0FAKE",
        "event_id": "Ev1",
        "event_time": 1,
        "event": {
            "type": "reaction_added",
            "user": "U0CALLER",
            "reaction": "eyes",
            "item": {"type": "message", "channel": CHANNEL, "ts": "1.2"},
            "event_ts": "1.3",
        },
    }
    challenge = {"type": "url_verification", "challenge": "c4", "token": "t"}
    async with running(settings_for(slack), catalog) as (url, _):
        event = await post_json(url, json.dumps(reaction))
        verified = await post_json(url, json.dumps(challenge))
    assert event.status_code == 200  # a 404 would make Slack disable the subscription
    assert verified.json() == {"challenge": "c4"}


async def test_with_the_store_down_a_command_is_refused_in_time_and_says_why(
    slack: FakeSlack, catalog: Catalog
) -> None:
    down = settings_for(slack, fracas_store_url=f"postgresql://u:pw@127.0.0.1:{free_port()}/x")
    async with running(down, catalog, worker=False) as (url, _):
        started = time.perf_counter()
        response = await command(url, slack, "finding")
        took = time.perf_counter() - started
        helped = await command(url, slack, "help")  # instant answers need no store
    assert response.status_code == 200 and took < 3  # Slack's deadline
    said = response.json()["text"]
    assert "Could not queue `finding`: the store is unreachable" in said and "Nothing ran" in said
    assert "fracas commands" in block_text(helped.json()["blocks"])


@pytest.mark.parametrize(
    "text",
    ["logs worker --grep payload", "logs worker --grep payload={}", "help payload"],
)
async def test_a_command_that_says_payload_is_still_a_command(
    slack: FakeSlack, catalog: Catalog, text: str
) -> None:
    """bolt's own parser takes any form body with "payload" in it for an interaction."""
    async with running(settings_for(slack), catalog, worker=False) as (url, _):
        response = await command(url, slack, text)
    assert response.status_code == 200
    assert "Working on" in response.text or "help" in response.text
