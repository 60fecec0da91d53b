"""The jobs Slack's listeners enqueue, as a worker runs them: a delivery seen twice is one job,
and a job interrupted once too often ends its "Working on" message with why."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Catalog
from bot.present.slack import RERUN
from bot.slack.keys import idempotency_key
from bot.slack.work import COMMAND, CommandOrder
from bot.store.engine import open_store
from bot.store.jobs import Jobs
from bot.store.migrate import migrate

from fakes.slack_api import FakeSlack, signed_headers
from fakes.slack_commands import block_actions_body
from test_slack_app import CHANNEL, SECRET, block_text, running, settings_for


async def _post(url: str, body: str, retry: int = 0) -> httpx.Response:
    headers = signed_headers(body, SECRET)
    if retry:
        headers["x-slack-retry-num"] = str(retry)
        headers["x-slack-retry-reason"] = "http_timeout"
    async with httpx.AsyncClient() as client:
        return await client.post(f"{url}/slack/events", content=body, headers=headers)


async def test_a_click_delivered_again_runs_once(slack: FakeSlack, catalog: Catalog) -> None:
    body = block_actions_body(
        RERUN, "finding", message_ts="1.1", response_url=slack.new_response_url()
    )
    async with running(settings_for(slack), catalog) as (url, deps):
        first, again = await _post(url, body), await _post(url, body, retry=1)
        await slack.await_for("chat.postMessage")
        await asyncio.sleep(0.5)  # a second run would have posted by now
        listed = await deps.jobs.recent(since=0)
    assert (first.status_code, again.status_code) == (200, 200)
    mains = [c for c in slack.calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    assert len(mains) == 1
    assert len(listed) == 1


def test_keys_are_what_every_copy_of_a_delivery_shares() -> None:
    event = {"event_id": "Ev0123", "event": {"type": "reaction_added"}, "retry": 1}
    assert idempotency_key(event) == "slack:event:Ev0123"
    assert idempotency_key({"trigger_id": "13345.T1.abc"}) == "slack:trigger:13345.T1.abc"
    click = {"user": {"id": "U1"}, "actions": [{"action_ts": "1700000000.123456"}]}
    assert idempotency_key(click) == "slack:action:U1:1700000000.123456"
    assert idempotency_key({"a": 1, "b": 2}) == idempotency_key({"b": 2, "a": 1})


async def test_interrupted_twice_the_job_is_not_run_again_and_its_message_says_why(
    slack: FakeSlack, catalog: Catalog, tmp_path: Path
) -> None:
    """Two workers died running it (their leases lapsed): the third claim only tells."""
    url = f"sqlite:///{tmp_path}/fracas.db"
    store = open_store(url)
    await migrate(store)
    jobs = Jobs(store)
    progress = await AsyncWebClient("xoxb-fake", base_url=slack.api_url).chat_postMessage(
        channel=CHANNEL, text="Slow look in production: 0 of 3 steps done · 0.0 s"
    )
    order = CommandOrder(
        channel=CHANNEL,
        user="U0CALLER",
        response_url=slack.new_response_url(),
        text="run slow-look production",
        origin="`/fracas run slow-look production` · <@U0CALLER>",
    )
    await jobs.enqueue(COMMAND, order, "slack:trigger:dies-twice", max_attempts=2)
    for dead in ("dead-1", "dead-2"):
        (job,) = await jobs.claim(dead, 1, lease=0.05)
        await jobs.remember(job, ts=str(progress["ts"]))
        time.sleep(0.1)
    await store.close()
    settings = settings_for(slack, fracas_store_url=url)
    async with running(settings, catalog) as (_, deps):
        (reply,) = await slack.await_for("response_url")
        await slack.await_for("chat.update")
        for _ in range(50):
            (job,) = await deps.jobs.recent(since=0)
            if job.state == "failed":
                break
            await asyncio.sleep(0.05)
    said = reply.args["text"]
    assert "`run slow-look production` was interrupted by restarts twice" in said
    assert "not run again" in said
    (message,) = slack.messages(CHANNEL)
    assert "interrupted by restarts twice" in block_text(message["blocks"])  # no more "Working"
    assert job.state == "failed" and job.attempts == 3
