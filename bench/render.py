"""The Render steps under load: `logs` triage of 20,000 lines (200 pages of 100) and `envdiff` of
2 x 200 variables, against the Render stand-in running in a separate process.

Reports the API calls made (and the fewest possible), the CPU time of the clustering alone, the
worst event-loop lag while the whole `logs` action runs (a 1 ms ticker on the same loop), and wall
times. The process is tuned as `fracas serve` tunes itself, after one warm-up command.
Benchmarks are not tests (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bot.actions.registry import ActionContext  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core import perform, understand  # noqa: E402
from bot.folding import Line  # noqa: E402
from bot.patterns import triage  # noqa: E402
from bot.sandbox.render_api import FakeRender  # noqa: E402
from bot.server import tune_for_acks  # noqa: E402
from bot.wiring import build_context  # noqa: E402

LINES, VARS = 20_000, 200
LAG_TARGET_MS, CLUSTER_TARGET_S = 50, 0.5
TICK = 0.001
CATALOG = """
default_env: production
environments:
  staging: {services: {worker: {render: bench-worker-staging}}}
  production: {services: {worker: {render: bench-worker-production}}}
required_env:
  worker: [DATABASE_URL, OPENAI_API_KEY]
"""


def _log_lines(now: datetime) -> list[tuple[datetime, str, str]]:
    """A busy worker's hour: varied job lines, request lines, warnings and tracebacks."""
    out: list[tuple[datetime, str, str]] = []
    step = timedelta(hours=1) / LINES
    i = 0
    while len(out) < LINES:
        at = now - timedelta(hours=1) + step * len(out)
        kind = i % 10
        if kind < 4:
            out.append((at, "info", f"Job {i * 2654435761 % 16**8:08x} completed in {i % 97}.2s"))
        elif kind < 7:
            out.append((at, "info", f'10.0.{i % 255}.7 - "GET /api/v1/documents/{i} HTTP/1.1" 200'))
        elif kind == 7:
            out.append((at, "warning", f"Upload job {i:06d} still queued after {i % 60} min"))
        elif kind == 8:
            out.append((at, "error", f"LlamaParse webhook failed for job {i}: 502 Bad Gateway"))
        else:
            frames = [
                "Traceback (most recent call last):",
                '  File "/app/worker/db.py", line 22, in create_pool',
                "    return await asyncpg.create_pool(dsn)",
                "OSError: [Errno 101] Network is unreachable",
            ]
            out += [(at + timedelta(microseconds=n), "error", f) for n, f in enumerate(frames)]
        i += 1
    return out[:LINES]


def _serve(conn: Connection) -> None:
    """The stand-in in its own process, so its CPU is not charged to fracas' loop."""
    with FakeRender(get_limit=100_000) as fake:
        now = datetime.now(UTC)
        worker = fake.add_service("bench-worker-production", "background_worker")
        fake.add_logs(worker["id"], _log_lines(now))
        for env, offset in (("staging", 0), ("production", 1)):
            name = f"bench-worker-{env}"
            service = worker if env == "production" else fake.add_service(name, "background_worker")
            fake.set_env(service["id"], _vars(offset))
        conn.send((fake.url, fake.api_key))
        while (message := conn.recv()) != "stop":
            conn.send(len(fake.requests) if message == "calls" else None)


def _vars(offset: int) -> dict[str, str]:
    """200 variables, a third of them secrets, a few differing between the two."""
    out = {}
    for i in range(VARS):
        if i % 3 == 0:
            out[f"SERVICE_{i}_API_KEY"] = f"sk-proj-{i:04d}{'AbCdEfGh' * 5}{offset * (i % 7 == 0)}"
        else:
            out[f"SETTING_{i}"] = f"value-{i}-{offset * (i % 11 == 0)}"
    out["DATABASE_URL"] = f"postgresql://postgres.ref{offset}:pw{offset}@pooler.example.com:5432/db"
    return out


async def _lag_while(work: asyncio.Future) -> float:
    """The worst extra delay a 1 ms ticker saw while `work` ran, in ms."""
    worst = 0.0
    while not work.done():
        start = time.perf_counter()
        await asyncio.sleep(TICK)
        worst = max(worst, time.perf_counter() - start - TICK)
    return worst * 1000


async def _run(ctx: ActionContext, text: str) -> tuple[float, float, float]:
    """Wall time (s), fracas' own CPU time (s, this process: loop and redaction thread) and
    worst loop lag (ms) of one command through `perform`."""
    start, cpu = time.perf_counter(), time.process_time()
    work = asyncio.ensure_future(perform(understand(text, ctx), ctx))
    lag = await _lag_while(work)
    await work
    return time.perf_counter() - start, time.process_time() - cpu, lag


async def _clustering_cpu(lines: int) -> float:
    now = datetime.now(UTC)
    parsed = [Line(at, message, level, "i1") for at, level, message in _log_lines(now)[:lines]]
    start = time.process_time()
    await triage(parsed)
    return time.process_time() - start


async def _bench(ctx: ActionContext, conn: Connection, rounds: int) -> None:
    def calls() -> int:
        conn.send("calls")
        return int(conn.recv())

    logs, own, envdiff, lags, cpu = [], [], [], [], []
    log_calls = env_calls = 0
    await _run(ctx, "logs worker staging")  # warm-up: first client, thread pool, lazy imports
    tune_for_acks()  # as `fracas serve` does once started
    for n in range(rounds):
        ctx.render._services.clear()
        ctx.render._names.clear()
        before = calls()
        wall, used, lag = await _run(ctx, f"logs worker production --since 2h --limit {LINES}")
        log_calls = calls() - before
        logs.append(wall)
        own.append(used)
        lags.append(lag)
        ctx.render._services.clear()
        ctx.render._names.clear()
        before = calls()
        wall, _, _ = await _run(ctx, "envdiff worker")
        env_calls = calls() - before
        envdiff.append(wall)
        cpu.append(await _clustering_cpu(LINES))
        print(
            f"round {n + 1}: logs {logs[-1]:.2f} s, lag {lag:.1f} ms, envdiff {wall * 1000:.0f} ms"
        )
    print()
    print(f"logs of {LINES:,} lines: {log_calls} API calls (fewest possible: 1 lookup + 200 pages)")
    print(f"  wall p50 {statistics.median(logs):.2f} s, max {max(logs):.2f} s")
    print(f"  fracas CPU p50 {statistics.median(own):.2f} s (the rest is the stand-in serving)")
    print(f"  clustering CPU p50 {statistics.median(cpu):.3f} s (target <= {CLUSTER_TARGET_S} s)")
    print(f"  worst loop lag {max(lags):.1f} ms (target <= {LAG_TARGET_MS} ms)")
    print(f"envdiff of 2 x {VARS + 1} variables: {env_calls} API calls (fewest: 2 lookups + 2 x 3)")
    print(
        f"  wall p50 {statistics.median(envdiff) * 1000:.0f} ms, max {max(envdiff) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(child,), daemon=True)
    server.start()
    url, key = parent.recv()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "fracas.yaml"
        catalog.write_text(CATALOG)
        settings = Settings(
            _env_file=None, render_api_key=key, render_api_url=f"{url}/v1", fracas_catalog=catalog
        )
        ctx = build_context(settings)

        async def go() -> None:
            try:
                await _bench(ctx, parent, args.rounds)
            finally:
                await ctx.aclose()

        asyncio.run(go())
    parent.send("stop")
    server.join(timeout=5)


if __name__ == "__main__":
    main()
