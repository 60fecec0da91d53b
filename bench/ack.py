"""Ack latency of signed `/fracas help` over loopback: `fracas serve` against a bare bolt app on
the same stack (the floor), and fracas again while 20 runbooks run as jobs in a worker process.

Servers are subprocesses, so the load generator never shares their event loop; targets
alternate round by round, so drift hits both. The loaded web process and its worker share a
store of the bench's own: a temp SQLite file, or new databases on `--store postgresql://…`.
Benchmarks are not tests (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import BaseModel, ConfigDict
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import make_url
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
from bot.slack.work import COMMAND
from bot.store.engine import open_store
from bot.store.jobs import Jobs
from bot.wiring import build_deps
from bot.work.process import run_worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from printout import machine_facts  # noqa: E402

from fakes.pg import TempDatabase, admin_url  # noqa: E402
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
    """The web process as `fracas serve --workers 0` builds it, plus the bench-only `soak`
    action, so `/fracas soak` is parsed and enqueued (the bench's worker process runs it)."""
    settings = load_settings().model_copy(update={"port": port})
    configure_logging(settings)
    asyncio.run(serve(build_deps(settings, {**ACTIONS, "soak": soak_action(slow_url)}), 0))


def work_loaded(slow_url: str) -> None:
    """The worker process as `fracas worker` runs it, knowing `soak` too."""
    settings = load_settings()
    configure_logging(settings)
    asyncio.run(run_worker(build_deps(settings, {**ACTIONS, "soak": soak_action(slow_url)})))


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
    Its own process, so its CPU is charged to neither the server nor the load generator.
    /healthz counts the GETs answered: the soaks' steps at work, seen from outside."""
    page = "\n".join(f"03:00:{i:02d} worker: retrying connection" for i in range(40))
    served = [0]

    async def slow(_: Request) -> Response:
        await asyncio.sleep(SLOW_SECONDS)
        served[0] += 1
        return PlainTextResponse(page)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True, "served": served[0]})

    return Starlette(routes=[Route("/healthz", healthz), Route("/slow", slow)])


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


@dataclass(frozen=True)
class Alive:
    """Where a batch stood at the start and end of one round beside it: soak jobs running in
    the store, and how many of the batch's GETs the remote had answered."""

    target: str
    jobs: int
    gets: int
    jobs_after: int
    gets_after: int


@dataclass
class Run:
    fake: FakeSlack
    urls: dict[str, str]
    probe: httpx.AsyncClient  # healthz and soak commands; never a measured connection
    jobs: Jobs  # the loaded store, read between rounds only
    tallies: defaultdict[tuple[str, int], Tally] = field(default_factory=lambda: defaultdict(Tally))
    alive: list[Alive] = field(default_factory=list)  # each round beside the load
    posted: list[tuple[int, int, int]] = field(default_factory=list)  # per batch: done, msgs, files
    took: list[tuple[float, float]] = field(default_factory=list)  # per batch: last GET, last job
    problems: list[str] = field(default_factory=list)
    store_cpu: float = 0.0  # CPU seconds of the PostgreSQL backends serving the stores
    soak_acks: list[float] = field(default_factory=list)  # 20 at once: parse, enqueue, ack


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


async def alive(run: Run) -> tuple[int, int]:
    """Soak jobs `running` in the store, and how many GETs the remote has answered so far."""
    jobs = await run.jobs.recent(time.time(), limit=2 * SOAKS)
    running = sum(j.state == "running" and j.kind == COMMAND for j in jobs)
    served = int((await run.probe.get(f"{run.urls['slow']}/healthz")).json()["served"])
    return running, served


async def beside_load(
    run: Run, client: httpx.AsyncClient, target: str, c: int, n: int, base: int
) -> None:
    """One round while the soaks run, noting where they stood at its start and end; `base`
    is what the remote had answered before the batch."""
    jobs, served = await alive(run)
    await one_round(run, client, target, c, n)
    jobs_after, served_after = await alive(run)
    run.alive.append(Alive(target, jobs, served - base, jobs_after, served_after - base))


async def fire_soaks(run: Run, batch: int) -> tuple[list[str], int]:
    """20 `/fracas soak`, a channel each (the poster paces every channel at 1 post a second);
    then wait until the worker has claimed all 20 and their steps have begun."""
    channels = [f"C0SOAK{batch:02d}{i:03d}" for i in range(SOAKS)]
    _, served = await alive(run)
    acks = await asyncio.gather(*(command(run, run.probe, "loaded", "soak", ch) for ch in channels))
    run.soak_acks += [took for took, _ in acks]
    for _, response in acks:
        if response is None or "Working on" not in response.text:
            run.problems.append(f"soak not acked: {response and response.text[:80]}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        running, now = await alive(run)
        if running == SOAKS and now > served:
            break
        await asyncio.sleep(0.02)
    else:
        run.problems.append(f"batch {batch}: only {running} soaks running, {now - served} GETs")
    return channels, served


async def drain(
    run: Run, channels: list[str], since: float, base: int, timeout: float = 300
) -> None:
    """Wait for the batch's jobs to end, noting when its runbooks' last GET was answered;
    check all 20 are done and FakeSlack got every message and file of them."""
    deadline, gets_done = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        jobs = await run.jobs.recent(since, limit=4 * SOAKS)
        if gets_done is None and (await alive(run))[1] - base >= SOAKS * STEPS * WAVES * GETS:
            gets_done = time.time() - since
        if not any(j.state in ("queued", "running") for j in jobs):
            break
        await asyncio.sleep(0.1)
    ended = max((j.finished_at or 0 for j in jobs), default=since) - since
    run.took.append((round(gets_done or -1, 1), round(ended, 1)))
    done = sum(j.state == "done" and j.kind == COMMAND for j in jobs)
    one = render_post(soak_report(tuple(finding(i, 0) for i in range(STEPS))))
    want = (SOAKS, SOAKS * (1 + len(one.thread)), SOAKS * len(one.files))
    files = sum(f["channel_id"] in channels for f in run.fake.files.values())
    got = (done, sum(len(run.fake.messages(ch)) for ch in channels), files)
    run.posted.append(got)
    if got != want:
        run.problems.append(f"a soak batch ended (done, messages, files) {got}, wanted {want}")


async def measure(run: Run, clients: dict[int, httpx.AsyncClient], n: int, rounds: int) -> None:
    """Warm up (bolt calls auth.test once), alternate bare/fracas, then loaded/bare with a
    fresh batch of soaks per round, counting the soaks alive around every round beside them."""
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
        since = time.time()
        channels, base = await fire_soaks(run, batch)
        for c in LEVELS if batch % 2 == 0 else LEVELS[::-1]:
            for target in ("loaded", "bare_b"):
                await beside_load(run, clients[c], target, c, n, base)
        await drain(run, channels, since, base)
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


def busy_seconds() -> tuple[float, float]:
    """CPU seconds the whole machine has been busy (/proc/stat), and those of this process
    and its children that have been waited for (the servers, once stopped, and theirs)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, stat.readline().split()[1:9]
        )
    tick = os.sysconf("SC_CLK_TCK")
    ours = sum(
        u.ru_utime + u.ru_stime
        for u in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )
    return (user + nice + system + irq + softirq + steal) / tick, ours


def backend_seconds(urls: Iterable[str]) -> float:
    """CPU seconds of the local PostgreSQL backends serving these stores so far (their process
    titles name the database); 0 for SQLite, where the store's work is the bench's own."""
    names = [make_url(u).database for u in urls if u.startswith("postgresql")]
    total = 0
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            title = (proc / "cmdline").read_bytes().decode(errors="replace")
            if title.startswith("postgres:") and any(f" {n} " in title for n in names if n):
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def check_alive(run: Run) -> dict[str, Any]:
    """Every round beside the load began and ended with all 20 soaks running and inside their
    runbook: some of the batch's GETs answered at its start, not all of them at its end."""
    total = SOAKS * STEPS * WAVES * GETS
    for r in run.alive:
        if min(r.jobs, r.jobs_after) < SOAKS or r.gets == 0 or r.gets_after >= total:
            problem = f"{r.jobs}/{r.jobs_after} soaks, GETs {r.gets}/{r.gets_after} of {total}"
            run.problems.append(f"{LABEL[r.target]}: {problem}")
    return {
        "jobs_running_min": min(min(r.jobs, r.jobs_after) for r in run.alive),
        "gets_total": total,
        "gets_at_ends": {
            t: [(r.gets, r.gets_after) for r in run.alive if r.target == t]
            for t in ("loaded", "bare_b")
        },
    }


def results(run: Run, n: int, rounds: int, store: str, cpu: dict[str, float]) -> dict[str, Any]:
    table = {f"c{c}": {t: figures(run.tallies[t, c]) for t in LABEL} for c in LEVELS}
    acks = statistics.quantiles(run.soak_acks, n=100, method="inclusive")
    background = check_alive(run) | {
        "soak_acks_ms": {
            "count": len(run.soak_acks),
            "p50": round(acks[49] * 1000, 1),
            "max": round(max(run.soak_acks) * 1000, 1),
        },
        "done_messages_files_per_batch": run.posted,
        "seconds_to_last_get_and_last_job_per_batch": run.took,
    }
    errors = sum(f["errors"] for level in table.values() for f in level.values())
    return {
        "machine": machine_facts(),
        "config": {"requests_per_round": n, "rounds": rounds, "soaks": SOAKS, "store": store},
        "figures": table,
        "verdicts": {level: verdicts(row) for level, row in table.items()},
        "background": background,
        "cpu_seconds": cpu,
        "errors": errors + len(run.problems),
        "problems": run.problems,
    }


def markdown(result: dict[str, Any]) -> str:
    m, cfg, bg = result["machine"], result["config"], result["background"]
    lines = [
        f"{m['nproc']} cores, {m['cpu']}, Python {m['python']}, {m['date']}; store "
        f"{cfg['store']}; {cfg['requests_per_round']} requests x {cfg['rounds']} rounds per "
        "target and level",
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
        f"soak jobs running at each end of every round beside the load: at least "
        f"{bg['jobs_running_min']}; the batch's GETs answered (of {bg['gets_total']}) at the "
        f"start and end of each: {bg['gets_at_ends']}",
        f"per batch (jobs done, messages, files): {bg['done_messages_files_per_batch']}",
        f"acks of the `/fracas soak` commands, {SOAKS} at once (parse, enqueue, ack): "
        f"{bg['soak_acks_ms']['count']}, p50 {bg['soak_acks_ms']['p50']} ms, "
        f"max {bg['soak_acks_ms']['max']} ms",
        "per batch, seconds from the soaks' acks to their last GET answered and to the last "
        f"job's end: {bg['seconds_to_last_get_and_last_job_per_batch']}",
        f"CPU seconds over the run: {result['cpu_seconds']['machine']:.0f} machine-wide, "
        f"{result['cpu_seconds']['bench']:.0f} the bench's processes (and its databases' "
        "backends), "
        f"{result['cpu_seconds']['others']:.0f} everything else",
        f"ERRORS: {result['errors']}: {result['problems']}" if result["errors"] else "errors: none",
    ]
    return "\n".join(lines)


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def stores(spec: str, tmp: Path) -> Iterator[dict[str, str]]:
    """A store for each fracas target: SQLite files in `tmp`, or new databases on a
    PostgreSQL server (`postgresql`: the tests' admin URL), dropped on exit whatever happens."""
    if spec == "sqlite":
        yield {name: f"sqlite:///{tmp / name}.db" for name in ("fracas", "loaded")}
        return
    admin = admin_url() if spec == "postgresql" else spec
    with TempDatabase(admin) as idle, TempDatabase(admin) as loaded:
        yield {"fracas": idle.url, "loaded": loaded.url}


def launch(
    fake: FakeSlack, tmp: Path, store: dict[str, str], procs: dict[str, subprocess.Popen[bytes]]
) -> dict[str, str]:
    """The slow remote, the bare floor, the real `fracas serve` (with its one worker), and the
    loaded web process with `soak` beside a worker process of ours on the same store."""
    ports = {name: free_port() for name in ("slow", "bare", "fracas", "loaded")}
    me = [sys.executable, str(Path(__file__).resolve())]
    slow = ["--slow-url", f"http://127.0.0.1:{ports['slow']}/slow"]
    commands = {name: [*me, "--serve", name] for name in ("slow", "bare", "loaded")}
    commands["loaded"] += slow
    commands["worker"] = [*me, "--worker", *slow]
    commands["fracas"] = [str(Path(sys.executable).with_name("fracas")), "serve"]
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FRACAS_"))}
    env = {**keep, **ENV, "SLACK_API_URL": fake.api_url}
    for name, cmd in commands.items():
        port = ports.get(name, ports["loaded"])
        url = store["fracas"] if name == "fracas" else store["loaded"]
        with (tmp / f"{name}.log").open("wb") as log:  # own session: Ctrl-C reaches only us
            out = {"stdout": log, "stderr": subprocess.STDOUT, "start_new_session": True}
            procs[name] = subprocess.Popen(
                cmd, cwd=tmp, env={**env, "PORT": str(port), "FRACAS_STORE_URL": url}, **out
            )
    return {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}


async def healthy(run: Run, name: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """200 from /healthz; fracas says 503 until a worker of its store has sent a heartbeat."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.TransportError):
            if (await run.probe.get(f"{run.urls[name]}/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not come up:\n{log.read_text()[-2000:]}")


def stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM (fracas' workers drain), then wait; kill what will not stop."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def bench(
    fake: FakeSlack, tmp: Path, store: dict[str, str], procs: dict[str, Any], n: int, rounds: int
) -> Run:
    """Start the servers, wait until each answers /healthz, measure."""
    urls = launch(fake, tmp, store, procs)
    one, five = (httpx.Limits(max_connections=c, max_keepalive_connections=c) for c in LEVELS)
    jobs = Jobs(open_store(store["loaded"]))
    try:
        async with (
            httpx.AsyncClient(timeout=30) as probe,
            httpx.AsyncClient(timeout=30, limits=one) as c1,
            httpx.AsyncClient(timeout=30, limits=five) as c5,
        ):
            run = Run(fake, urls, probe, jobs)
            for name in urls:
                await healthy(run, name, procs[name], tmp / f"{name}.log")
            await measure(run, {1: c1, 5: c5}, n, rounds)
            run.store_cpu = backend_seconds(store.values())
    finally:
        await jobs.store.close()
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per target and level")
    parser.add_argument(
        "--store",
        default="sqlite",
        help="sqlite (temp files, the default); postgresql (FRACAS_TEST_DATABASE_URL, else "
        "postgres@127.0.0.1:5432); or a PostgreSQL URL whose user may create databases: the "
        "bench creates its own there and drops them at the end",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--serve", choices=("bare", "loaded", "slow"), help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--slow-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        work_loaded(args.slow_url)
        return 0
    if args.serve == "loaded":
        serve_loaded(int(os.environ["PORT"]), args.slow_url)
    elif args.serve:
        build = bare_web if args.serve == "bare" else slow_web
        asyncio.run(serve_web(build, int(os.environ["PORT"])))
    if args.serve:
        return 0
    procs: dict[str, subprocess.Popen[bytes]] = {}
    machine_before, ours_before = busy_seconds()
    with (
        FakeSlack() as fake,
        tempfile.TemporaryDirectory(prefix="fracas-bench-") as tmp,
        stores(args.store, Path(tmp)) as store,
    ):
        try:
            run = asyncio.run(bench(fake, Path(tmp), store, procs, args.requests, args.rounds))
        except KeyboardInterrupt:
            return 130
        finally:
            stop(procs)  # before FakeSlack and the store go: a draining worker may still post
    machine_after, ours_after = busy_seconds()
    used, ours = machine_after - machine_before, ours_after - ours_before
    ours += run.store_cpu
    cpu = {"machine": round(used, 1), "bench": round(ours, 1), "others": round(used - ours, 1)}
    where = "SQLite" if args.store == "sqlite" else "PostgreSQL"
    result = results(run, args.requests, args.rounds, where, cpu)
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
