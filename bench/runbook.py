"""The `worker-down` runbook against the Render stand-in with 200 ms per API call: is its wall
time the longest dependency chain of its steps, and does it ask Render anything twice?

The stand-in runs the FM-030 stack (bot/sandbox/fm030.py) in a thread of this process. Two
scenarios, each a warm-up run and then `--runs` timed runs of `run worker-down production`
through `understand` and `perform`:

- `local db`: the production worker's DATABASE_URL (set on the stand-in, its other variables
  kept) points at a throwaway database on the local PostgreSQL with the upload pipeline's schema
  (bot/sandbox/jobs.py) and 4,000 jobs (300 stuck, 480 failed in the last day with four kinds of
  error), so all seven steps run, schema and stuck after db;
- `FM-030`: the stack as it is, the worker's DATABASE_URL on the IPv6-only direct host (a
  resolver gives it only an AAAA address), so db fails and schema and stuck are skipped.

Every run builds its context afresh (`build_context`), so it starts cold: the Render client
keeps service lookups for 30 s, and a warm run would skip them. Per run: the wall time measured
around `perform` and the report's own `wall_ms`; the longest dependency chain, from the report's
step timings (a step's time plus the longest chain among the steps it needs; skipped steps have
no time and count for nothing); the Render calls the stand-in received during the run (its
`/apps/` health route is not Render's API and is left out) and any path+query received more than
once. Target: wall <= 1.2x the longest chain, in every run.

The stand-in's GET limit is raised so its rate limit (Render's 400 a minute) never paces the
runs. The database is dropped at the end, whatever happens. Uses FRACAS_TEST_DATABASE_URL as
admin URL if set, else postgres@127.0.0.1:5432 (trust). Benchmarks are not tests: the exit code
is 0 whatever the verdict (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import asyncpg  # noqa: E402
from printout import machine, table  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.core import perform, understand  # noqa: E402
from bot.integrations.postgres.resolver import Resolver  # noqa: E402
from bot.integrations.render import RenderClient  # noqa: E402
from bot.results import Report  # noqa: E402
from bot.sandbox.fm030 import Stack, catalog_yaml, load_fm030  # noqa: E402
from bot.sandbox.jobs import SCHEMA, jobs  # noqa: E402
from bot.sandbox.render_api import FakeRender  # noqa: E402
from bot.wiring import build_context  # noqa: E402

from fakes.pg import TempDatabase, admin_url  # noqa: E402

COMMAND = "run worker-down production"
LATENCY = 0.2  # seconds the stand-in waits before answering each API call
TARGET = 1.2  # wall <= TARGET x the longest chain
NOT_RENDER = "/apps/"  # the stand-in's health route for the apps themselves
WORKER = "upload-worker-production"
JOBS = (  # (count, state, last updated this long ago, spread over, status, error)
    (2_800, "done", "7 days", "7 days", "complete", None),
    (400, "queued", "20 minutes", "20 minutes", None, None),  # moving
    (200, "queued", "6 hours", "4 hours", None, None),  # stuck
    (100, "working", "3 hours", "90 minutes", "parsing", None),  # stuck
    (200, "failed", "23 hours", "23 hours", None, "LlamaParse webhook failed for job {i}: 502"),
    (
        120,
        "failed",
        "23 hours",
        "23 hours",
        None,
        "Traceback (most recent call last):\n"
        '  File "/app/worker/embed.py", line 88, in store_chunks\n'
        "asyncpg.exceptions.QueryCanceledError: canceling statement due to statement timeout",
    ),
    (100, "failed", "23 hours", "23 hours", None, "OpenAI embeddings: 429, retry after {i} ms"),
    (60, "failed", "23 hours", "23 hours", None, "PDF has no text layer (document {i})"),
    (20, "failed", "20 days", "10 days", None, "unsupported file type (job {i})"),  # old
)


@dataclass
class Sample:
    """One timed run."""

    wall: float  # ms, measured around understand + perform
    wall_ms: float  # the report's own
    chain: float  # ms
    path: list[str]  # the steps of the longest chain, first to last
    steps: dict[str, dict[str, Any]]
    calls: list[str]  # path+query of every Render call during the run

    @property
    def ratio(self) -> float:
        return self.wall / self.chain

    @property
    def twice(self) -> dict[str, int]:
        return {path: n for path, n in Counter(self.calls).items() if n > 1}


@dataclass
class Scenario:
    name: str
    samples: list[Sample]
    verdicts: dict[str, str]  # step -> verdict of the last run
    rate_limited: int  # 429s the stand-in served during the scenario


def longest_chain(steps: dict[str, dict[str, Any]]) -> tuple[float, list[str]]:
    """The longest dependency chain: over the steps that ran, the step's ms plus the longest
    chain among the steps it needs (those that did not run count for nothing)."""
    memo: dict[str, tuple[float, list[str]]] = {}

    def chain(name: str) -> tuple[float, list[str]]:
        if name not in memo:
            step = steps[name]
            if step["ms"] is None:
                memo[name] = (0.0, [])
            else:
                before = max((chain(n) for n in step["needs"]), default=(0.0, []))
                memo[name] = (before[0] + step["ms"], [*before[1], name])
        return memo[name]

    return max((chain(name) for name in steps), default=(0.0, []))


def waited(steps: dict[str, dict[str, Any]], name: str) -> float | None:
    """How long after its needs ended (after the run began, for a step without needs) the step
    started, in ms: the time it waited on nothing it declared."""
    step = steps[name]
    if step["start_ms"] is None:
        return None
    ends = [
        steps[n]["start_ms"] + steps[n]["ms"] for n in step["needs"] if steps[n]["ms"] is not None
    ]
    return step["start_ms"] - max(ends, default=0.0)


def _route(path_qs: str) -> str:
    """A call's route with the ids taken out, for counting calls by kind."""
    path = re.sub(r"/(srv|crn)-[a-z0-9]+", "/{id}", path_qs.split("?", 1)[0])
    if path == "/v1/services" and "name=" in path_qs:
        return "/v1/services?name= (lookup)"
    return path


async def _seed(url: str) -> tuple[int, int]:
    """The upload pipeline's schema and the jobs of JOBS; returns (jobs, stuck)."""
    con = await asyncpg.connect(url, timeout=10)
    try:
        await con.execute(SCHEMA)
        for count, state, age, spread, status, error in JOBS:
            await con.execute(jobs(count, state, age, status=status, error=error, spread=spread))
        await con.execute("VACUUM ANALYZE upload_pipeline.upload_jobs")
        version = await con.fetchval("SHOW server_version")
    finally:
        await con.close()
    print(f"PostgreSQL {version}: {sum(j[0] for j in JOBS):,} jobs seeded", flush=True)
    return sum(j[0] for j in JOBS), sum(j[0] for j in JOBS[2:4])


async def _runs(
    name: str,
    fake: FakeRender,
    settings: Settings,
    runs: int,
    hosts: dict[str, list[str]],
    environ: dict[str, str],
) -> Scenario:
    samples: list[Sample] = []
    verdicts: dict[str, str] = {}
    limited = fake.rate_limited
    for n in range(1 + runs):
        # fresh each run: a cold service cache, as an incident has
        ctx = build_context(settings, environ=environ)
        if hosts:
            ctx = dataclasses.replace(ctx, resolver=Resolver(hosts))
        mark = len(fake.requests)
        try:
            start = time.perf_counter()
            report = await perform(understand(COMMAND, ctx), ctx)
            wall = (time.perf_counter() - start) * 1000
        finally:
            await ctx.aclose()
        assert isinstance(report, Report), report
        calls = [p for p in fake.requests[mark:] if not p.startswith(NOT_RENDER)]
        steps = report.data["steps"]
        chain, path = longest_chain(steps)
        verdicts = {step: data["verdict"] for step, data in steps.items()}
        label = "warm-up" if n == 0 else f"run {n}"
        print(
            f"{name}, {label}: wall {wall:.0f} ms, chain {chain:.0f} ms ({' > '.join(path)}), "
            f"{len(calls)} Render calls",
            flush=True,
        )
        if n > 0:
            samples.append(Sample(wall, report.data["wall_ms"], chain, path, steps, calls))
    return Scenario(name, samples, verdicts, fake.rate_limited - limited)


def _p50_max(values: list[float], digits: int = 0) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.{digits}f} / {max(values):.{digits}f}"


def _report(scenarios: list[Scenario], runs: int) -> None:
    print(f"\n`{COMMAND}`, {runs} runs per scenario after 1 warm-up, each with a fresh context;")
    print(f"Render stand-in latency {LATENCY * 1000:.0f} ms per API call\n")
    rows = []
    for s in scenarios:
        paths = Counter(" > ".join(x.path) for x in s.samples)
        calls = [len(x.calls) for x in s.samples]
        twice = sum(len(x.twice) for x in s.samples)
        ok = max(x.ratio for x in s.samples) <= TARGET
        rows.append(
            (
                s.name,
                _p50_max([x.wall for x in s.samples]),
                _p50_max([x.wall_ms for x in s.samples]),
                _p50_max([x.chain for x in s.samples]),
                ", ".join(paths),
                _p50_max([x.ratio for x in s.samples], 3),
                _p50_max([x.wall_ms / x.chain for x in s.samples], 3),
                f"{min(calls)}-{max(calls)}" if min(calls) != max(calls) else str(calls[0]),
                str(twice),
                "PASS" if ok else "FAIL",
            )
        )
    table(
        (
            "scenario",
            "wall ms p50/max",
            "wall_ms p50/max",
            "chain ms p50/max",
            "longest chain",
            "wall/chain p50/max",
            "wall_ms/chain",
            "calls/run",
            "duplicates",
            f"<= {TARGET}x",
        ),
        rows,
    )

    for s in scenarios:
        print(f"\n{s.name}: steps (ms, p50 / max over {len(s.samples)} runs)")
        rows = []
        for step, data in s.samples[-1].steps.items():
            ms = [x.steps[step]["ms"] for x in s.samples if x.steps[step]["ms"] is not None]
            starts = [
                x.steps[step]["start_ms"]
                for x in s.samples
                if x.steps[step]["start_ms"] is not None
            ]
            waits = [w for x in s.samples if (w := waited(x.steps, step)) is not None]
            rows.append(
                (
                    step,
                    ", ".join(data["needs"]) or "-",
                    s.verdicts[step],
                    _p50_max(starts, 1),
                    _p50_max(waits, 1),
                    _p50_max(ms),
                    f"{statistics.median(ms) / (LATENCY * 1000):.1f}" if ms else "-",
                )
            )
        table(
            ("step", "needs", "verdict", "start", "waited", "ms", f"ms / {LATENCY * 1000:.0f}"),
            rows,
        )
        routes = Counter(_route(p) for x in s.samples for p in x.calls)
        print(f"  Render calls per run by route ({s.rate_limited} answered 429):")
        for route, n in routes.most_common():
            print(f"    {n / len(s.samples):g}  {route}")
        for n, x in enumerate(s.samples, 1):
            for path, count in x.twice.items():
                print(f"  DUPLICATE in run {n}: {count}x {path}")

    print("\ntargets:")
    rows = []
    for s in scenarios:
        worst = max(x.ratio for x in s.samples)
        rows.append(
            (
                f"{s.name}: wall / longest chain, every run",
                f"{worst:.3f}x (p50 {statistics.median(x.ratio for x in s.samples):.3f}x)",
                f"<= {TARGET}x",
                "PASS" if worst <= TARGET else "FAIL",
            )
        )
        twice = sorted({p for x in s.samples for p in x.twice})
        rows.append(
            (
                f"{s.name}: calls made twice in one run",
                str(len(twice)),
                "0",
                "PASS" if not twice else "FAIL",
            )
        )
    table(("target", "measured", "wanted", "verdict"), rows)


async def _bench(fake: FakeRender, stack: Stack, settings: Settings, url: str, runs: int) -> None:
    await _seed(url)
    worker = stack.services[WORKER]["id"]
    client = RenderClient(fake.api_key, fake.api_url)  # read through the API, before latency
    try:
        fm030_env = dict(await client.env_vars(worker))
    finally:
        await client.aclose()
    fake.set_env(worker, {**fm030_env, "DATABASE_URL": url})
    fake.delay = LATENCY
    local = await _runs("local db", fake, settings, runs, {}, stack.database_urls)
    fake.set_env(worker, fm030_env)
    ipv6 = {f"db.{stack.refs['production']}.supabase.co": ["2001:db8::1"]}
    fm030 = await _runs("FM-030", fake, settings, runs, ipv6, stack.database_urls)
    print(f"\nmachine: {machine()}; {datetime.now(UTC):%a %d %b %Y %H:%M} UTC")
    _report([local, fm030], runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per scenario")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    started = time.perf_counter()
    with (
        TempDatabase(admin_url()) as db,
        FakeRender(get_limit=100_000) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        print(f"database {db.name} (dropped at the end)", flush=True)
        stack = load_fm030(fake)
        catalog = Path(tmp) / "fracas.yaml"
        catalog.write_text(catalog_yaml(fake))
        settings = Settings(
            _env_file=None,
            render_api_key=fake.api_key,
            render_api_url=fake.api_url,
            fracas_catalog=catalog,
        )
        asyncio.run(_bench(fake, stack, settings, db.url, args.runs))
    print(f"\nwhole run {time.perf_counter() - started:.0f} s; database {db.name} dropped")


if __name__ == "__main__":
    main()
