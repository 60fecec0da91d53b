"""Ack latency of signed `/fracas help` over loopback: `fracas serve` against a bare bolt app on
the same stack (the floor), and fracas again while 20 runbooks run in its background.

Servers are subprocesses, so the load generator never shares their event loop; targets
alternate round by round, so drift hits both. Benchmarks are not tests (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import BaseModel, ConfigDict
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.actions.all import ACTIONS
from bot.actions.registry import Action, ActionContext
from bot.cli import configure_logging
from bot.config import load_settings
from bot.present.slack import render_post
from bot.results import Report, StepResult, Verdict
from bot.server import serve
from bot.wiring import Deps, read_catalog

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fakes.slack_api import FakeSlack, signed_headers, slash_command_body  # noqa: E402

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
LEVELS = (1, 5)
P99_LIMIT, RPS_FLOOR = 1.2, 0.9
SOAKS, STEPS, WAVES, GETS = 20, 7, 3, 6  # 3 waves x 6 sequential GETs x 200 ms = 3.6 s each
SLOW_SECONDS, DETAIL_LINES, WARMUP = 0.2, 500, 50
FLOOR = {"fracas": "bare", "loaded": "bare_b"}  # each subject against the floor beside it
SERVER = {"bare": "bare", "fracas": "fracas", "bare_b": "bare", "loaded": "loaded"}
LABEL = {
    "bare": "bare bolt (floor)",
    "fracas": "fracas serve",
    "bare_b": "bare bolt, beside the load",
    "loaded": f"fracas + {SOAKS} runbooks",
}
ENV = {
    "SLACK_BOT_TOKEN": "xoxb-fake",
    "SLACK_SIGNING_SECRET": SECRET,
    "FRACAS_HOST": "127.0.0.1",
    "FRACAS_CATALOG": str(ROOT / "fracas.example.yaml"),
    "STAGING_DATABASE_URL": "postgresql://bench@127.0.0.1:1/staging",
    "PRODUCTION_DATABASE_URL": "postgresql://bench@127.0.0.1:1/production",
}

# --- servers (each runs in its own subprocess) ----------------------------------------------


class SoakParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


def finding(step: int, wave: int) -> StepResult:
    """A failing step with the evidence a real one carries: facts, 500 log lines, a hint."""
    lines = tuple(
        f"2026-11-23T03:{i % 60:02d}:{wave:02d}Z upload-worker-{step} OSError: [Errno 101] "
        f"Network is unreachable connecting to db.abcdefghij.supabase.co:5432 (attempt {i})"
        for i in range(DETAIL_LINES)
    )
    facts = (("service", "upload-worker-production"), ("host", "db.abcdefghij.supabase.co"))
    hints = ("Use the Supavisor pooler host (port 5432 or 6543).",)
    summary = "DATABASE_URL host has only IPv6 addresses; Render cannot reach IPv6."
    return StepResult(Verdict.FAIL, f"step {step}: worker", summary, facts, lines, hints)


def soak_report(steps: tuple[StepResult, ...]) -> Report:
    return Report("soak: worker down", steps, ("DATABASE_URL resolves to IPv6 only.",))


def soak_action(slow_url: str) -> Action:
    """A runbook as we will run it: waves of 7 concurrent steps, each waiting on a remote."""

    async def step(client: httpx.AsyncClient, index: int, wave: int) -> StepResult:
        for _ in range(GETS):
            (await client.get(slow_url)).raise_for_status()
        return finding(index, wave)

    clients: list[httpx.AsyncClient] = []

    async def soak(ctx: ActionContext, params: SoakParams) -> Report:
        if not clients:  # one pooled client per process, as fracas' integrations keep theirs
            clients.append(httpx.AsyncClient(timeout=30))
        for wave in range(WAVES):
            steps = await asyncio.gather(*(step(clients[0], i, wave) for i in range(STEPS)))
        return soak_report(tuple(steps))

    return Action("soak", SoakParams, "Bench only: a 7-step runbook.", soak)


def serve_loaded(port: int, slow_url: str) -> None:
    """fracas built as `fracas serve` builds it, plus the bench-only `soak` action."""
    settings = load_settings().model_copy(update={"port": port})
    configure_logging(settings)
    actions = {**ACTIONS, "soak": soak_action(slow_url)}
    asyncio.run(serve(Deps(settings, ActionContext(read_catalog(settings), actions))))


async def _healthz(_: Request) -> Response:
    return JSONResponse({"ok": True, "running": 0})


def bare_web() -> Starlette:
    """The floor: one bolt listener that acks, behind the same Starlette + bolt adapter."""
    client = AsyncWebClient(token="xoxb-fake", base_url=os.environ["SLACK_API_URL"])
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.command("/fracas")
    async def fracas(ack: AsyncAck) -> None:
        await ack(text="help")

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(
        routes=[Route("/healthz", _healthz), Route("/slack/events", events, methods=["POST"])]
    )


def slow_web() -> Starlette:
    """The remote a runbook step waits on (Render, Postgres): 200 ms, then a page of logs.
    Its own process, so its CPU is charged to neither the server nor the load generator."""
    page = "\n".join(f"03:00:{i:02d} worker: retrying connection" for i in range(40))

    async def slow(_: Request) -> Response:
        await asyncio.sleep(SLOW_SECONDS)
        return PlainTextResponse(page)

    return Starlette(routes=[Route("/healthz", _healthz), Route("/slow", slow)])


async def serve_web(build: Callable[[], Starlette], port: int) -> None:
    """uvicorn as `fracas serve` runs it: one worker, lifespan off, warnings only."""
    config = uvicorn.Config(build(), "127.0.0.1", port, log_level="warning", lifespan="off")
    await uvicorn.Server(config).serve()


# --- load generator -------------------------------------------------------------------------


@dataclass
class Tally:
    """Every latency of one target at one concurrency, over all of its rounds."""

    samples: list[float] = field(default_factory=list)
    wall: float = 0.0
    errors: int = 0


@dataclass
class Run:
    fake: FakeSlack
    urls: dict[str, str]
    probe: httpx.AsyncClient  # healthz and soak commands; never a measured connection
    tallies: defaultdict[tuple[str, int], Tally] = field(default_factory=lambda: defaultdict(Tally))
    running: list[tuple[int, int]] = field(default_factory=list)  # around each loaded round
    posted: list[tuple[int, int]] = field(default_factory=list)  # per batch: messages, files
    problems: list[str] = field(default_factory=list)


async def command(
    run: Run, client: httpx.AsyncClient, target: str, text: str, channel: str = "C0123456789"
) -> tuple[float, httpx.Response | None]:
    """One slash command, signed just before sending (Slack refuses stale timestamps)."""
    body = slash_command_body(text, response_url=run.fake.new_response_url(), channel_id=channel)
    headers, url = signed_headers(body, SECRET), f"{run.urls[SERVER[target]]}/slack/events"
    start = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError:
        response = None
    return time.perf_counter() - start, response


async def one_round(run: Run, client: httpx.AsyncClient, target: str, c: int, n: int) -> Tally:
    """n `/fracas help` with c in flight on keep-alive connections; latency to whole response."""
    tally, todo = run.tallies[target, c], iter(range(n))
    expect = "help" if SERVER[target] == "bare" else "fracas commands"

    async def worker() -> None:
        for _ in todo:
            took, response = await command(run, client, target, "help")
            tally.samples.append(took)
            tally.errors += (
                response is None or response.status_code != 200 or expect not in response.text
            )

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    tally.wall += time.perf_counter() - start
    return tally


async def running(run: Run) -> int:
    return int((await run.probe.get(f"{run.urls['loaded']}/healthz")).json()["running"])


async def fire_soaks(run: Run, batch: int) -> list[str]:
    """20 `/fracas soak`, a channel each: the poster paces every channel at 1 post a second."""
    channels = [f"C0SOAK{batch:02d}{i:03d}" for i in range(SOAKS)]
    acks = await asyncio.gather(*(command(run, run.probe, "loaded", "soak", ch) for ch in channels))
    for _, response in acks:
        if response is None or "Working on" not in response.text:
            run.problems.append(f"soak not acked: {response and response.text[:80]}")
    return channels


async def drain(run: Run, channels: list[str], timeout: float = 300) -> None:
    """Wait for the batch to finish, then check FakeSlack got every message and file."""
    deadline = time.monotonic() + timeout
    while await running(run) and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
    one = render_post(soak_report(tuple(finding(i, 0) for i in range(STEPS))))
    want = (SOAKS * (1 + len(one.thread)), SOAKS * len(one.files))
    files = sum(f["channel_id"] in channels for f in run.fake.files.values())
    got = (sum(len(run.fake.messages(ch)) for ch in channels), files)
    run.posted.append(got)
    if got != want:
        run.problems.append(f"a soak batch posted (messages, files) {got}, wanted {want}")


async def measure(run: Run, clients: dict[int, httpx.AsyncClient], n: int, rounds: int) -> None:
    """Warm up (bolt calls auth.test once), alternate bare/fracas, then loaded/bare with a
    fresh batch of soaks per round, sampling /healthz `running` around every loaded round."""
    for c in LEVELS:
        for target in ("bare", "fracas", "loaded"):
            await one_round(run, clients[c], target, c, WARMUP)
    run.tallies.clear()
    for c in LEVELS:
        print(f"c={c}: {rounds} rounds each of bare, fracas", file=sys.stderr)
        for _ in range(rounds):
            for target in ("bare", "fracas"):
                await one_round(run, clients[c], target, c, n)
    for batch in range(rounds):
        print(f"batch {batch + 1}/{rounds}: {SOAKS} soaks, then loaded/bare", file=sys.stderr)
        channels = await fire_soaks(run, batch)
        for c in LEVELS if batch % 2 == 0 else LEVELS[::-1]:
            before = await running(run)
            await one_round(run, clients[c], "loaded", c, n)
            run.running.append((before, await running(run)))
            await one_round(run, clients[c], "bare_b", c, n)
        await drain(run, channels)
    if run.fake.responses():
        run.problems.append(f"{len(run.fake.responses())} error replies via response_url")


# --- figures --------------------------------------------------------------------------------


def figures(tally: Tally) -> dict[str, float]:
    """p50/p99 over every sample of every round; throughput over the rounds' wall time."""
    q = statistics.quantiles(tally.samples, n=100, method="inclusive")
    ms = {"p50_ms": q[49], "p99_ms": q[98], "mean_ms": statistics.fmean(tally.samples)}
    figures = {k: round(v * 1000, 2) for k, v in ms.items()}
    figures["rps"] = round(len(tally.samples) / tally.wall, 1)
    return figures | {"requests": len(tally.samples), "errors": tally.errors}


def verdicts(level: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """Subject against its floor: p99 at most 1.2x and throughput at least 0.9x."""
    out = {}
    for subject, floor in FLOOR.items():
        p99 = level[subject]["p99_ms"] / level[floor]["p99_ms"]
        rps = level[subject]["rps"] / level[floor]["rps"]
        ok = p99 <= P99_LIMIT and rps >= RPS_FLOOR
        out[subject] = dict(vs=floor, p99_ratio=round(p99, 2), rps_ratio=round(rps, 2), ok=ok)
    return out


def machine() -> dict[str, str]:
    """What `nproc`, `lscpu`, `python --version` and `date -u` say."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    cpu = [ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if "Model name" in ln]
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    nproc, python = str(len(os.sched_getaffinity(0))), sys.version.split()[0]
    return dict(nproc=nproc, cpu=(cpu or ["?"])[0], python=python, date=date)


def results(run: Run, n: int, rounds: int) -> dict[str, Any]:
    table = {f"c{c}": {t: figures(run.tallies[t, c]) for t in LABEL} for c in LEVELS}
    low = min(min(pair) for pair in run.running)
    if low < SOAKS:
        run.problems.append(f"only {low} of {SOAKS} soaks were alive around a loaded round")
    errors = sum(f["errors"] for level in table.values() for f in level.values())
    return {
        "machine": machine(),
        "config": {"requests_per_round": n, "rounds": rounds, "soaks": SOAKS},
        "figures": table,
        "verdicts": {level: verdicts(row) for level, row in table.items()},
        "background": {"running_before_after": run.running, "posted_per_batch": run.posted},
        "errors": errors + len(run.problems),
        "problems": run.problems,
    }


def markdown(result: dict[str, Any]) -> str:
    m, cfg, bg = result["machine"], result["config"], result["background"]
    lines = [
        f"{m['nproc']} cores, {m['cpu']}, Python {m['python']}, {m['date']}; "
        f"{cfg['requests_per_round']} requests x {cfg['rounds']} rounds per target and level",
        "",
        f"| c | target | p50 ms | p99 ms | mean ms | req/s | errors | p99 vs floor "
        f"(<= {P99_LIMIT}x) | req/s vs floor (>= {RPS_FLOOR}x) | verdict |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for level, row in result["figures"].items():
        for target, f in row.items():
            v = result["verdicts"][level].get(target)
            ratios = f"{v['p99_ratio']:.2f}x | {v['rps_ratio']:.2f}x" if v else " | "
            verdict = ("PASS" if v["ok"] else "FAIL") if v else "floor"
            lines.append(
                f"| {level[1:]} | {LABEL[target]} | {f['p50_ms']:.1f} | {f['p99_ms']:.1f} "
                f"| {f['mean_ms']:.1f} | {f['rps']:.0f} | {f['errors']} | {ratios} | {verdict} |"
            )
    lines += [
        "",
        f"soaks alive before/after each loaded round: {bg['running_before_after']}",
        f"posted per batch (messages, files): {bg['posted_per_batch']}",
        f"ERRORS: {result['errors']}: {result['problems']}" if result["errors"] else "errors: none",
    ]
    return "\n".join(lines)


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(fake: FakeSlack, tmp: Path, procs: dict[str, subprocess.Popen[bytes]]) -> dict[str, str]:
    """The slow remote, the bare floor, the real `fracas serve`, and fracas with `soak`."""
    ports = {name: free_port() for name in ("slow", "bare", "fracas", "loaded")}
    me = [sys.executable, str(Path(__file__).resolve()), "--serve"]
    commands = {
        name: [*me, name, "--port", str(ports[name])] for name in ("slow", "bare", "loaded")
    }
    commands["loaded"] += ["--slow-url", f"http://127.0.0.1:{ports['slow']}/slow"]
    commands["fracas"] = [str(Path(sys.executable).with_name("fracas")), "serve"]
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FRACAS_"))}
    env = {**keep, **ENV, "SLACK_API_URL": fake.api_url}
    for name, cmd in commands.items():
        with (tmp / f"{name}.log").open("wb") as log:  # own session: Ctrl-C reaches only us
            out = {"stdout": log, "stderr": subprocess.STDOUT, "start_new_session": True}
            procs[name] = subprocess.Popen(
                cmd, cwd=tmp, env={**env, "PORT": str(ports[name])}, **out
            )
    return {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}


async def healthy(run: Run, name: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.TransportError):
            if (await run.probe.get(f"{run.urls[name]}/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not come up:\n{log.read_text()[-2000:]}")


def stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM (fracas drains its background work), then wait; kill what will not stop."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def bench(fake: FakeSlack, tmp: Path, procs: dict[str, Any], n: int, rounds: int) -> Any:
    """Start the servers, wait until each answers /healthz, measure, sum up."""
    urls = launch(fake, tmp, procs)
    one, five = (httpx.Limits(max_connections=c, max_keepalive_connections=c) for c in LEVELS)
    async with (
        httpx.AsyncClient(timeout=30) as probe,
        httpx.AsyncClient(timeout=30, limits=one) as c1,
        httpx.AsyncClient(timeout=30, limits=five) as c5,
    ):
        run = Run(fake, urls, probe)
        for name, proc in procs.items():
            await healthy(run, name, proc, tmp / f"{name}.log")
        await measure(run, {1: c1, 5: c5}, n, rounds)
    return results(run, n, rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per target and level")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve", choices=("bare", "loaded", "slow"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--slow-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "loaded":
        serve_loaded(args.port, args.slow_url)
    elif args.serve:
        asyncio.run(serve_web(bare_web if args.serve == "bare" else slow_web, args.port))
    if args.serve:
        return 0
    procs: dict[str, subprocess.Popen[bytes]] = {}
    with FakeSlack() as fake, tempfile.TemporaryDirectory(prefix="fracas-bench-") as tmp:
        try:
            result = asyncio.run(bench(fake, Path(tmp), procs, args.requests, args.rounds))
        except KeyboardInterrupt:
            return 130
        finally:
            stop(procs)  # before FakeSlack goes: a draining fracas may still post
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
