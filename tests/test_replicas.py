"""Durable work with real processes: replicas sharing one PostgreSQL store, workers killed with
SIGKILL or stopped with SIGTERM in the middle of runbooks, on the Slack and Render stand-ins.
Whatever happens, an accepted command ends in exactly one result message."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.fm030 import Stack
from bot.sandbox.render_api import FakeRender
from bot.store.engine import open_store
from bot.store.jobs import Jobs
from bot.store.tables import workers

from fakes.pg import TempDatabase
from fakes.slack_api import FakeSlack
from fakes.slack_workspace import INCIDENTS_ID
from fleet import fleet_env, serve, slash, start, stopped, top_level, until

RAN_AGAIN = "interrupted by a restart, ran again"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def pg_store(pg_admin: str) -> Iterator[str]:
    with TempDatabase(pg_admin) as db:
        yield db.url


def in_progress(message: dict) -> bool:
    """A runbook's live message before its report replaces it."""
    return "steps done ·" in message["text"]


def finished(slack: FakeSlack, count: int) -> list[dict] | None:
    """`count` top-level messages, every one a result (none still in progress)."""
    messages = top_level(slack, INCIDENTS_ID)
    if len(messages) == count and not any(in_progress(m) for m in messages):
        return messages
    return None


async def job_states(store_url: str, settle: float = 20) -> list[str]:
    """Every job's state once none is queued or running (a result's thread may still be going
    out when its main message reads as done), or as they are after `settle` seconds."""
    store = open_store(store_url)
    try:
        for _ in range(int(settle * 10)):
            states = sorted(job.state for job in await Jobs(store).recent(since=0))
            if not {"queued", "running"} & set(states):
                break
            await asyncio.sleep(0.1)
        return states
    finally:
        await store.close()


async def test_the_same_command_reaching_two_replicas_is_answered_once(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path, pg_store: str
) -> None:
    env = fleet_env(slack, render, tmp_path, pg_store)
    a, b = await asyncio.gather(serve(env, tmp_path), serve(env, tmp_path))
    with stopped(a, b):
        trigger = "4857.T0FAKE.once"
        acks = await asyncio.gather(
            *(slash(r.url, slack, "status production", trigger_id=trigger) for r in (a, b, a))
        )
        assert [ack.status_code for ack in acks] == [200, 200, 200]
        working = [ack for ack in acks if ack.content and "Working on" in ack.json()["text"]]
        assert len(working) == 1
        await until(lambda: finished(slack, 1), 20, "the status result")
        assert await job_states(pg_store) == ["done"]
        await asyncio.sleep(1.5)  # time enough for a second post, if there were one
    assert len(top_level(slack, INCIDENTS_ID)) == 1


async def test_sigkill_in_the_middle_of_five_runbooks_loses_none_and_posts_none_twice(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path, pg_store: str
) -> None:
    """The replica that took all five dies with its worker; the other reruns each one, editing
    the message the first attempt posted."""
    render.delay = 1.5  # every Render call: each runbook runs for several seconds
    env = fleet_env(slack, render, tmp_path, pg_store)
    doomed = await serve(env, tmp_path)
    with stopped(doomed):
        for _ in range(5):
            ack = await slash(doomed.url, slack, "run slow-look production")
            assert "Working on" in ack.json()["text"]
        await until(lambda: len(top_level(slack, INCIDENTS_ID)) == 5, 20, "five progress posts")
        survivor = await serve(env, tmp_path / "b")
        with stopped(survivor):
            assert all(in_progress(m) for m in top_level(slack, INCIDENTS_ID))
            doomed.kill()
            results = await until(lambda: finished(slack, 5), 60, "five results from the survivor")
            assert await job_states(pg_store) == ["done"] * 5
    assert all(RAN_AGAIN in str(m["blocks"]) for m in results)
    assert len({m["ts"] for m in results}) == 5  # each run edited its own message
    assert len(top_level(slack, INCIDENTS_ID)) == 5


async def test_one_machine_killed_and_started_again_finishes_what_it_had_accepted(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    """The SQLite store, one `fracas serve`: SIGKILL to everything, then a new start on the
    same file (a crash, then Render's restart) runs each accepted command once more."""
    render.delay = 1.0
    store_url = f"sqlite:///{tmp_path}/fracas.db"
    env = fleet_env(slack, render, tmp_path, store_url)
    first = await serve(env, tmp_path)
    with stopped(first):
        for _ in range(2):
            await slash(first.url, slack, "run slow-look production")
        await until(lambda: len(top_level(slack, INCIDENTS_ID)) == 2, 20, "two progress posts")
        first.kill()
    assert all(in_progress(m) for m in top_level(slack, INCIDENTS_ID))
    second = await serve(env, tmp_path)
    with stopped(second):
        results = await until(lambda: finished(slack, 2), 60, "both results after the restart")
        assert await job_states(store_url) == ["done", "done"]
    assert all(RAN_AGAIN in str(m["blocks"]) for m in results)
    assert len(top_level(slack, INCIDENTS_ID)) == 2


async def test_a_killed_worker_is_restarted_and_its_job_runs_again(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    """One machine, the SQLite store: the worker process dies, `fracas serve` starts another."""
    render.delay = 0.4
    store_url = f"sqlite:///{tmp_path}/fracas.db"
    replica = await serve(fleet_env(slack, render, tmp_path, store_url), tmp_path)
    with stopped(replica):
        await slash(replica.url, slack, "run slow-look production")
        await until(lambda: top_level(slack, INCIDENTS_ID), 20, "the progress post")
        os.kill(await _worker_pid(store_url), signal.SIGKILL)
        (result,) = await until(lambda: finished(slack, 1), 60, "the result after the restart")
        assert await job_states(store_url) == ["done"]
    assert RAN_AGAIN in str(result["blocks"])
    assert "exited with -9; restarting" in replica.output()


async def test_a_worker_stops_when_its_web_process_is_killed(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    """No orphan runs on: the wake pipe closes with its parent, and the worker drains and exits."""
    store_url = f"sqlite:///{tmp_path}/fracas.db"
    replica = await serve(fleet_env(slack, render, tmp_path, store_url), tmp_path)
    with stopped(replica):
        pid = await _worker_pid(store_url)
        os.kill(replica.popen.pid, signal.SIGKILL)
        replica.popen.wait(10)
        await until(lambda: not _alive(pid), 15, "the orphaned worker to exit")


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


async def _worker_pid(store_url: str) -> int:
    store = open_store(store_url)
    try:
        async with store.engine.connect() as conn:
            pids = (await conn.execute(workers.select())).all()
    finally:
        await store.close()
    (row,) = pids
    return int(row.pid)


async def test_sigterm_lets_running_runbooks_finish_before_the_process_exits(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    render.delay = 0.3
    store_url = f"sqlite:///{tmp_path}/fracas.db"
    replica = await serve(fleet_env(slack, render, tmp_path, store_url), tmp_path)
    with stopped(replica):
        for _ in range(2):
            await slash(replica.url, slack, "run slow-look production")
        await until(lambda: len(top_level(slack, INCIDENTS_ID)) == 2, 20, "two progress posts")
        replica.terminate()
        code = await asyncio.to_thread(replica.popen.wait, 40)
    assert code == 0
    results = finished(slack, 2)
    assert results is not None, replica.output()
    assert not any(RAN_AGAIN in str(m["blocks"]) for m in results)
    assert await job_states(store_url) == ["done", "done"]


async def test_sigterm_hands_back_what_the_drain_cannot_finish_and_another_replica_runs_it(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path, pg_store: str
) -> None:
    """The lease is long: only the hand-back lets the other replica start at once."""
    render.delay = 0.5
    env = fleet_env(slack, render, tmp_path, pg_store, FRACAS_JOB_LEASE="120")
    leaving = await serve({**env, "FRACAS_DRAIN_SECONDS": "0.2"}, tmp_path)
    staying = await serve(env, tmp_path / "b")
    with stopped(leaving, staying):
        await slash(leaving.url, slack, "run slow-look production")
        await until(lambda: top_level(slack, INCIDENTS_ID), 20, "the progress post")
        leaving.terminate()
        assert await asyncio.to_thread(leaving.popen.wait, 20) == 0
        (result,) = await until(lambda: finished(slack, 1), 30, "the other replica's result")
        assert await job_states(pg_store) == ["done"]
    assert RAN_AGAIN in str(result["blocks"])
    assert "released 1 job(s) for another worker" in leaving.output()


async def test_two_workers_posting_to_one_channel_keep_to_slacks_pace(
    slack: FakeSlack, render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    """Slack allows about one message a second per channel, in short bursts (reference §4):
    the pace is shared through the store, so two processes together still keep to it."""
    store_url = f"sqlite:///{tmp_path}/fracas.db"
    env = fleet_env(slack, render, tmp_path, store_url, FRACAS_WORKER_SLOTS="1")
    replica = await serve(env, tmp_path, workers=0)  # migrates, enqueues, runs no worker
    second = start(env, tmp_path, "worker")
    third = start(env, tmp_path, "worker")
    with stopped(replica, second, third):
        for _ in range(8):
            await slash(replica.url, slack, "status production")
        await until(lambda: len(top_level(slack, INCIDENTS_ID)) == 8, 40, "eight posts")
        assert await job_states(store_url) == ["done"] * 8
    posts = sorted(c.at for c in slack.calls_to("chat.postMessage") if c.status == 200)
    for i, at in enumerate(posts):
        assert at - posts[0] >= (i - 3) * 1.0 - 0.05  # burst of 4, then one a second
    store = open_store(store_url)
    try:
        done = await Jobs(store).recent(since=0)
    finally:
        await store.close()
    assert len({job.worker for job in done}) == 2  # both workers took part
