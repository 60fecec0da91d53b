"""Issue 5's "done when": `/fracas run worker-down production` against the FM-030 stand-in shows,
within seconds and in one evolving message, every check and the two root causes; its buttons
rerun it and attach the full logs; `fracas demo` shows the same at a terminal."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bot.config import Settings
from bot.present.slack import EMOJI, FULL_LOGS, RERUN
from bot.results import Verdict
from bot.sandbox.demo import sandbox_resolver
from bot.sandbox.fm030 import MISSING_ON_PRODUCTION_WORKER, Stack, load_fm030
from bot.sandbox.render_api import FakeRender
from bot.wiring import build_context

from conftest import stack_settings
from fakes.slack_api import FakeSlack, signed_headers
from fakes.slack_commands import block_actions_body
from storefixtures import everything_stored
from test_cli import fracas
from test_slack_app import CHANNEL, SECRET, block_text, command, running, settings_for

STEPS = ("status", "deploys", "envdiff", "db", "schema", "stuck", "logs")


def _mains(slack: FakeSlack) -> list[dict]:
    return [c.args for c in slack.calls_to("chat.postMessage") if not c.args.get("thread_ts")]


async def _until(check: Callable[[], object], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "Slack never got what was expected"
        await asyncio.sleep(0.05)


def _finals(slack: FakeSlack) -> list[dict]:
    """The edits that carry the buttons: each run's report, replacing its progress."""
    return [
        call.args
        for call in slack.calls_to("chat.update")
        if any(b.get("type") == "actions" for b in call.args.get("blocks") or [])
    ]


def _final(slack: FakeSlack) -> dict | None:
    finals = _finals(slack)
    return finals[-1] if finals else None


async def _click(url: str, slack: FakeSlack, action_id: str, value: str, ts: str) -> int:
    body = block_actions_body(
        action_id, value, message_ts=ts, response_url=slack.new_response_url()
    )
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/slack/events", content=body, headers=signed_headers(body, SECRET)
        )
    return response.status_code


def _button(message: dict, action_id: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element["action_id"] == action_id:
                return element["value"]
    raise AssertionError(f"no {action_id} button")


async def test_worker_down_in_one_evolving_message(
    render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    with FakeSlack() as slack:
        settings = stack_settings(render, tmp_path).model_copy(
            update=settings_for(slack).model_dump(exclude_unset=True)
        )
        ctx = dataclasses.replace(build_context(settings), resolver=sandbox_resolver(fm030))
        async with running(settings, ctx=ctx) as (url, _):
            started = time.monotonic()
            response = await command(url, slack, "run worker-down production")
            assert "Working on `run worker-down production`" in response.json()["text"]
            await _until(lambda: _final(slack) is not None)
            took = time.monotonic() - started
            final = _final(slack)
            assert final is not None
            ran = len(STEPS) - 2  # schema and stuck are skipped: their line is in the main one
            await _until(lambda: len(slack.calls_to("chat.postMessage")) >= 1 + ran)

            mains = _mains(slack)
            assert len(mains) == 1, "a run is one message, edited in place"
            ts = slack.calls_to("chat.postMessage")[0].response["ts"]
            updates = slack.calls_to("chat.update")
            assert all(u.args["ts"] == ts for u in updates)
            gaps = [b.at - a.at for a, b in itertools.pairwise(updates[:-1])]
            assert all(gap >= 0.9 for gap in gaps), f"edits came faster than 1/s: {gaps}"
            assert took < 15

            first = block_text(mains[0]["blocks"])
            assert "Worker down in production" in first and "steps done" in first
            shown = block_text(final["blocks"])
            causes = shown[shown.index("Likely cause") :]
            lacks, ipv6 = causes.index("lacks 3 required"), causes.index("only an IPv6 address")
            assert lacks < ipv6, "the missing variables lead, the IPv6-only host follows"
            assert all(key in causes for key in MISSING_ON_PRODUCTION_WORKER)
            assert f"db.{fm030.refs['production']}.supabase.co" in causes
            assert "Skipped: it needs db (fail)" in shown
            for label in ("status production", "envdiff worker staging production"):
                assert label in block_text(mains[0]["blocks"]) or label in json.dumps(updates)

            thread = [c.args for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]
            assert all(t["thread_ts"] == ts for t in thread)
            assert len(thread) == ran, "one thread message per step that ran"
            titles = [block_text(t["blocks"]).split("\n")[0] for t in thread]
            assert any("Variables of worker" in t for t in titles)
            assert any("Deploys of worker" in t for t in titles)

            assert _button(final, RERUN) == "run worker-down production"
            logs = json.loads(_button(final, FULL_LOGS))
            assert logs == ["logs worker production --level error"]

            assert await _click(url, slack, FULL_LOGS, json.dumps(logs), ts) == 200
            await _until(lambda: any(f["thread_ts"] == ts for f in slack.files.values()))
            window = next(f for f in slack.files.values() if f["thread_ts"] == ts)
            assert b"Errno 101" in window["content"]

            assert await _click(url, slack, RERUN, "run worker-down production", ts) == 200
            await _until(lambda: len(_mains(slack)) == 2)
            await _until(lambda: len(_finals(slack)) == 2)
            assert _finals(slack)[1]["ts"] != ts, "a rerun is a new message"
        everything = json.dumps([c.args for c in slack.calls]) + "".join(
            f["content"].decode() for f in slack.files.values()
        )
        leaked = [label for label, value in fm030.secrets.items() if value in everything]
        assert not leaked, f"secrets shown in Slack: {leaked}"


def test_demo_script_runs_the_tour_without_network(tmp_path: Path) -> None:
    script = tmp_path / "tour.txt"
    script.write_text("# the banner's first suggestion\nrun worker-down production\nruns\n")
    done = fracas("demo", "--script", str(script), cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 2, "a line that could not be understood makes a script fail"
    assert "fracas demo" in out and "run worker-down production" in out
    causes = out[out.index("Likely cause") :]
    assert causes.index("lacks 3 required") < causes.index("only an IPv6 address")
    assert "tcp" in out and "2001:db8::1" in out, "the database step tried to connect"
    assert "unknown command 'runs'. Did you mean" in out
    with FakeRender() as fake:
        secrets = load_fm030(fake).secrets  # the stack is seeded the same way every time
    leaked = [label for label, value in secrets.items() if value in out + done.stderr]
    assert not leaked, f"secrets shown by the demo: {leaked}"


def test_demo_reads_commands_from_stdin(tmp_path: Path) -> None:
    done = fracas("demo", stdin="runbooks\nstatus production\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "worker-down" in done.stdout and "webhook-failures" in done.stdout
    assert "Status of production  worker failing" in done.stdout


async def test_where_the_bot_is_not_a_member_the_report_still_arrives(
    render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    with FakeSlack() as slack:
        slack.set_not_in_channel(CHANNEL)
        settings = stack_settings(render, tmp_path).model_copy(
            update=settings_for(slack).model_dump(exclude_unset=True)
        )
        async with running(settings, ctx=build_context(settings)) as (url, _):
            await command(url, slack, "run api-down production")
            await slack.await_for("response_url", count=2, timeout=20)
        report, tip = (r["body"] for r in slack.responses())
        assert report["response_type"] == "in_channel"
        assert "API down in production" in block_text(report["blocks"])
        assert tip["response_type"] == "ephemeral" and "/invite @fracas" in tip["text"]


TITLED = """\
name: worker-errors
title: Worker errors
description: The worker's error logs, each step titled for people.
parameters:
  env: {description: the environment}
  pattern: {description: text the second window is about, default: Errno}
steps:
  - id: errors
    title: Worker errors
    action: logs
    with: {service: worker, env: "{{ env }}", level: error}
  - id: pattern
    title: Lines about the pattern
    action: logs
    with: {service: worker, env: "{{ env }}", grep: "{{ pattern }}"}
  - id: status
    title: Everything at a glance
    action: status
    with: {env: "{{ env }}"}
"""


def _titled_settings(render: FakeRender, slack: FakeSlack, tmp_path: Path) -> Settings:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "worker-errors.yaml").write_text(TITLED)
    settings = stack_settings(render, tmp_path).model_copy(
        update={"fracas_runbooks": tmp_path / "runbooks"}
    )
    return settings.model_copy(update=settings_for(slack).model_dump(exclude_unset=True))


def _windows(slack: FakeSlack) -> list[dict]:
    return [f for f in slack.files.values() if f["filename"].startswith("logs-")]


def _shown(slack: FakeSlack) -> str:
    """Everything Slack got: calls, response_url posts, uploaded files."""
    files = "".join(f["content"].decode() for f in slack.files.values())
    return json.dumps([c.args for c in slack.calls]) + json.dumps(slack.responses()) + files


async def test_full_logs_of_titled_steps_runs_their_commands_not_their_titles(
    render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    with FakeSlack() as slack:
        settings = _titled_settings(render, slack, tmp_path)
        async with running(settings, ctx=build_context(settings)) as (url, _):
            await command(url, slack, "run worker-errors production")
            await _until(lambda: _final(slack) is not None)
            final = _final(slack)
            assert final is not None
            assert "Worker errors" in block_text(final["blocks"]), "titles are what people read"
            ts = slack.calls_to("chat.postMessage")[0].response["ts"]
            logs = json.loads(_button(final, FULL_LOGS))
            assert logs == [
                "logs worker production --level error",
                "logs worker production --grep Errno",
            ]

            assert await _click(url, slack, FULL_LOGS, _button(final, FULL_LOGS), ts) == 200
            await _until(lambda: sum(b"Errno 101" in f["content"] for f in _windows(slack)) == 2)
            assert all(f["thread_ts"] == ts for f in _windows(slack))
            assert not slack.responses(), "a click that works says nothing back"
        shown = _shown(slack)
        assert "unknown command" not in shown
        leaked = [label for label, value in fm030.secrets.items() if value in shown]
        assert not leaked, f"secrets shown in Slack: {leaked}"


async def test_full_logs_button_and_its_refusals_never_show_a_secret(
    render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    key = fm030.secrets["production OPENAI_API_KEY"]
    with FakeSlack() as slack:
        settings = _titled_settings(render, slack, tmp_path)
        async with running(settings, ctx=build_context(settings)) as (url, deps):
            await command(url, slack, f"run worker-errors production pattern={key}")
            await _until(lambda: _final(slack) is not None)
            final = _final(slack)
            assert final is not None
            assert "Errno 101" in _shown(slack), "it ran with the key as typed"
            stored = await everything_stored(deps.jobs.store)
            assert "worker-errors production pattern=[secret " in stored and key not in stored
            value = _button(final, FULL_LOGS)
            assert len(value) <= 2000 and "--grep [secret " in value
            ts = slack.calls_to("chat.postMessage")[0].response["ts"]

            before = len(slack.responses())
            forged = json.dumps([f"run worker-down production service={key}"])
            for value in ('"logs worker production"', forged):
                assert await _click(url, slack, FULL_LOGS, value, ts) == 200
            await _until(lambda: len(slack.responses()) >= before + 2)
            said = [r["body"]["text"] for r in slack.responses()[before:]]
            assert len(said) == 2, "a string value is refused once, not once per character"
            assert "carries no log commands" in said[0]
            assert "is not a logs command" in said[1] and "[secret " in said[1]
        shown = _shown(slack)
        leaked = [label for label, value in fm030.secrets.items() if value in shown]
        assert not leaked, f"secrets shown in Slack: {leaked}"


async def test_api_down_on_a_healthy_api_blames_nothing_and_notices_the_worker(
    render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    """FM-030: the API is healthy, the worker is down. `run api-down production` in Slack
    passes, names no cause, and shows the worker's failure as also noticed."""
    with FakeSlack() as slack:
        settings = stack_settings(render, tmp_path).model_copy(
            update=settings_for(slack).model_dump(exclude_unset=True)
        )
        ctx = dataclasses.replace(build_context(settings), resolver=sandbox_resolver(fm030))
        async with running(settings, ctx=ctx) as (url, _):
            await command(url, slack, "run api-down production")
            await _until(lambda: _final(slack) is not None)
        final = _final(slack)
        assert final is not None
        shown = block_text(final["blocks"])
        assert "Likely cause" not in shown
        assert "no step found anything wrong with api" in shown
        noticed = shown[shown.index("Also noticed") :]
        assert "worker failing" in noticed
        assert final["text"].startswith(EMOJI[Verdict.OK])
