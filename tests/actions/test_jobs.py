"""`jobs`: the queue as the workers see it, at the terminal (`fracas run jobs --json`, on the
store the processes share) and in Slack (where the listing is itself a job)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from bot.config import Catalog
from bot.store.engine import open_store
from bot.store.jobs import Jobs
from bot.store.migrate import migrate

from fakes.slack_api import FakeSlack
from test_cli import fracas
from test_slack_app import CHANNEL, block_text, command, running, settings_for


class Order(BaseModel):
    text: str


async def test_the_terminal_lists_what_the_store_holds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fracas.db"
    store = open_store(url)
    await migrate(store)
    queue = Jobs(store)
    for n in range(3):
        await queue.enqueue(
            "slack.command",
            Order(text="x"),
            f"k{n}",
            requested_by="U0CALLER",
            summary=f"run worker-down production #{n}",
        )
    running_job, failed_job = await queue.claim("w-host:1", 2, lease=30)
    await queue.finish(failed_job, "failed", "interrupted too often")
    await store.close()
    done = fracas("run", "jobs", "--json", cwd=tmp_path, FRACAS_STORE_URL=url)
    assert done.returncode == 1, done.stderr  # a failed job is a warning
    body = json.loads(done.stdout)
    assert body["verdict"] == "warn"
    assert body["summary"].startswith("1 queued, 1 running, 1 failed")
    rows = {row[0]: row for row in body["details"]["rows"]}
    assert rows[f"#{running_job.id}"][1:4] == [
        "running",
        "run worker-down production #0",
        "U0CALLER",
    ]
    assert "on w-host:1" in rows[f"#{running_job.id}"][5]
    assert rows[f"#{failed_job.id}"][5] == "interrupted too often"


def test_the_terminal_without_a_store_says_nothing_was_queued(tmp_path: Path) -> None:
    done = fracas("run", "jobs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "nothing was queued here" in done.stdout
    assert not (tmp_path / "fracas.db").exists()  # looking does not create one


async def test_slack_lists_the_jobs_including_the_listing_itself(
    slack: FakeSlack, catalog: Catalog
) -> None:
    async with running(settings_for(slack), catalog) as (url, _):
        ack = await command(url, slack, "jobs")
        assert "Working on `jobs`" in ack.json()["text"]
        await slack.await_for("chat.postMessage")
    (post,) = [c for c in slack.calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    shown = block_text(post.args["blocks"])
    assert post.args["channel"] == CHANNEL
    assert "1 running" in shown and "U0CALLER" in shown
