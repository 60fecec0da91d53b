"""Real fracas processes for the durability tests: `fracas serve` replicas and `fracas worker`
processes on one store, talking to the Slack and Render stand-ins of the test over loopback.
Each process runs in its own session, so SIGKILL can take a whole replica (web and workers) at
once, as a crashed machine would."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.sandbox.database import free_port
from bot.sandbox.fm030 import catalog_yaml
from bot.sandbox.render_api import FakeRender

from fakes.slack_api import FakeSlack, signed_headers, slash_command_body

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FRACAS = [sys.executable, "-m", "bot"]
SLOW_RUNBOOK = """\
name: slow-look
title: Slow look
description: Render-only steps, slowed by the stand-in's delay (durability tests).
parameters:
  env: {description: the environment}
  service: {description: the service, default: worker}
steps:
  - id: status
    action: status
    with: {env: "{{ env }}"}
  - id: deploys
    action: deploys
    with: {service: "{{ service }}", env: "{{ env }}"}
  - id: logs
    action: logs
    with: {service: "{{ service }}", env: "{{ env }}", since: 1h}
causes: [logs, deploys, status]
"""


def fleet_env(
    slack: FakeSlack, render: FakeRender, home: Path, store_url: str, **extra: str
) -> dict[str, str]:
    """The environment every process of one fleet shares: same store, catalog, stand-ins."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "fracas.yaml").write_text(catalog_yaml(render))
    runbooks = home / "runbooks"
    runbooks.mkdir(exist_ok=True)
    (runbooks / "slow-look.yaml").write_text(SLOW_RUNBOOK)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRACAS_", "SLACK_"))}
    return {
        **env,
        "SLACK_BOT_TOKEN": "xoxb-fake",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "RENDER_API_KEY": render.api_key,
        "RENDER_API_URL": render.api_url,
        "FRACAS_CATALOG": str(home / "fracas.yaml"),
        "FRACAS_RUNBOOKS": str(runbooks),
        "FRACAS_STORE_URL": store_url,
        "FRACAS_HOST": "127.0.0.1",
        "FRACAS_JOB_LEASE": "2",
        **extra,
    }


@dataclass
class Proc:
    """One process of the fleet, its output in a file of the test's own."""

    popen: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def kill(self) -> None:
        """SIGKILL to the whole process group: the web process and its workers die at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def terminate(self) -> None:
        """SIGTERM to the process itself, as Render sends it at a deploy."""
        self.popen.send_signal(signal.SIGTERM)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start(env: dict[str, str], home: Path, *args: str) -> Proc:
    home.mkdir(parents=True, exist_ok=True)
    log = home / f"{'-'.join(args)}-{time.monotonic_ns()}.log"
    popen = subprocess.Popen(
        [*FRACAS, *args],
        env=env,
        cwd=home,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Proc(popen, log)


async def serve(env: dict[str, str], home: Path, workers: int = 1) -> Proc:
    """`fracas serve` on a free port, once /healthz says its store and workers are up."""
    port = free_port()
    proc = start(env, home, "serve", "--port", str(port), "--workers", str(workers))
    proc.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise AssertionError(f"fracas serve exited:\n{proc.output()}")
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(f"{proc.url}/healthz")
                if response.status_code == 200 or (workers == 0 and response.status_code == 503):
                    return proc
            await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError(f"fracas serve did not come up:\n{proc.output()}")


@contextlib.contextmanager
def stopped(*procs: Proc) -> Iterator[None]:
    """Whatever the test does, no process outlives it."""
    try:
        yield
    finally:
        for proc in procs:
            if proc.popen.poll() is None:
                proc.kill()


async def slash(url: str, slack: FakeSlack, text: str, **fields: str) -> httpx.Response:
    body = slash_command_body(text, response_url=slack.new_response_url(), **fields)
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            f"{url}/slack/events", content=body, headers=signed_headers(body, SECRET)
        )


def top_level(slack: FakeSlack, channel: str) -> list[dict[str, Any]]:
    """The channel's messages as they read now, without thread replies."""
    return [m for m in slack.messages(channel) if m.get("thread_ts") in (None, m["ts"])]


async def until(check: Any, timeout: float, what: str, every: float = 0.1) -> Any:
    """Wait for `check()` to return something true; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
