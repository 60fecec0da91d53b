"""Issue 3's "done when": against the stand-in in the FM-030 state, in Slack and in the console,
envdiff names the three missing variables and the direct host without one secret value, logs puts
the Errno 101 cluster on top with its diagnosis, status shows API healthy and worker failing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.sandbox.fm030 import MISSING_ON_PRODUCTION_WORKER, Stack
from bot.sandbox.render_api import FakeRender
from bot.wiring import build_context

from conftest import stack_settings
from fakes.slack_api import FakeSlack
from test_cli import fracas
from test_slack_app import block_text, command, running, settings_for

COMMANDS = ("envdiff worker", "logs worker production", "status production")


def _mains(slack: FakeSlack) -> list[dict]:
    return [c.args for c in slack.calls_to("chat.postMessage") if "thread_ts" not in c.args]


async def _posted(slack: FakeSlack, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while len(_mains(slack)) < count:
        assert time.monotonic() < deadline, "the result was never posted"
        await asyncio.sleep(0.05)


async def test_in_slack(render: FakeRender, fm030: Stack, tmp_path: Path) -> None:
    with FakeSlack() as slack:
        settings = stack_settings(render, tmp_path).model_copy(
            update=settings_for(slack).model_dump(exclude_unset=True)
        )
        async with running(settings, ctx=build_context(settings)) as (url, _):
            for count, text in enumerate(COMMANDS, start=1):
                assert (await command(url, slack, text)).status_code == 200
                await _posted(slack, count)
            await slack.await_for("files.completeUploadExternal", count=1, timeout=15)
        envdiff, logs, status = (block_text(m["blocks"]) for m in _mains(slack))
        assert "production lacks 3 required variables" in envdiff
        assert all(key in envdiff for key in MISSING_ON_PRODUCTION_WORKER)
        assert f"db.{fm030.refs['production']}.supabase.co" in envdiff and "IPv6" in envdiff
        assert "network unreachable (errno 101): an IPv6-only database host" in logs
        thread = [c.args for c in slack.calls_to("chat.postMessage") if "thread_ts" in c.args]
        tables = "\n".join(block_text(p["blocks"]) for p in thread)
        first_row = tables.split("pattern", 1)[1].splitlines()[1]
        assert first_row.endswith("OSError: [Errno 101] Network is unreachable")
        assert "worker failing: deploy update_failed" in status and "api healthy" in status
        sent = "\n".join(
            [str(c.args) for c in slack.calls]
            + [f["content"].decode() for f in slack.files.values()]
        )
        for label, secret in fm030.secrets.items():
            assert secret not in sent, f"{label} reached Slack"


def test_in_the_console(render: FakeRender, fm030: Stack, tmp_path: Path) -> None:
    settings = stack_settings(render, tmp_path)
    done = fracas(
        "console",
        stdin="\n".join(COMMANDS) + "\nexit\n",
        cwd=tmp_path,
        RENDER_API_KEY=render.api_key,
        RENDER_API_URL=render.api_url,
        FRACAS_CATALOG=str(settings.fracas_catalog),
    )
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "production lacks 3 required variables" in out
    assert all(key in out for key in MISSING_ON_PRODUCTION_WORKER)
    assert f"db.{fm030.refs['production']}.supabase.co" in out
    assert "network unreachable (errno 101)" in out
    assert "OSError: [Errno 101] Network is unreachable" in out
    assert "worker failing" in out and "api healthy" in out
    saved = Path(out.split("logs-worker-production.txt (")[1].split(" saved to ")[1].split()[0])
    window = saved.read_text()
    assert "OSError: [Errno 101] Network is unreachable" in window
    assert oct(saved.parent.stat().st_mode & 0o777) == "0o700"
    for label, secret in fm030.secrets.items():
        assert secret not in done.stdout + done.stderr + window, f"{label} reached the terminal"
