"""The `stuck` step over a million jobs, and the `db` probe, against the local PostgreSQL.

A throwaway database gets the upload pipeline's schema (bot/sandbox/jobs.py) and 1,000,000 jobs
loaded by server-side generate_series: 1% live (2,000 stuck in queued/working for 1.5-9 h, 8,000
updated in the last 45 min), the rest done or failed over 30 days, 2,000 of them failed in the
last 24 h with four kinds of error (some carrying a job number, so they must be clustered).
Then, in three phases (no index; the partial index of reference §8, `PARTIAL_INDEX`; and also
the errors index that `stuck` suggests for its second query):

- each of the step's three queries (`counts`, `oldest`, `errors` of `bot.actions.stuck.Queries`,
  with the step's own arguments) as the step sends them: a read-only transaction on a connection
  without statement cache. Reported: the server's `EXPLAIN (ANALYZE, FORMAT JSON)` execution
  time, the client's fetch time (p50 and p95 after a warm-up) and the scan the plan chose;
- the whole `stuck production` through `understand` and `perform`, as a user runs it (connect,
  queries, EXPLAINs, clustering, redaction), and which `CREATE INDEX CONCURRENTLY` hints it gives.

Then the `db` probe (`bot.integrations.postgres.stages.probe`) against the same database, by
address and by name (so the DNS stage runs): p50 per stage and of the total (the stages' sum
without `latency`, itself a median of 5 round trips, as `db` adds it up), and the wall time.

Targets: the stuck count query <= 20 ms with the partial index (client fetch p95); the probe's
total <= 50 ms (p95). The database is dropped at the end, whatever happens. Uses
FRACAS_TEST_DATABASE_URL as admin URL if set, else postgres@127.0.0.1:5432 (trust).
Benchmarks are not tests (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import socket
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import asyncpg  # noqa: E402
from printout import machine, table  # noqa: E402

from bot.actions.all import ACTIONS  # noqa: E402
from bot.actions.registry import ActionContext  # noqa: E402
from bot.actions.stuck import ERROR_WINDOW, Queries  # noqa: E402
from bot.config import Catalog  # noqa: E402
from bot.core import perform, understand  # noqa: E402
from bot.integrations.postgres.resolver import Resolver  # noqa: E402
from bot.integrations.postgres.session import DEFAULT, connect, read_only  # noqa: E402
from bot.integrations.postgres.stages import probe  # noqa: E402
from bot.results import StepResult  # noqa: E402
from bot.sandbox.jobs import PARTIAL_INDEX, SCHEMA, jobs  # noqa: E402

from fakes.pg import TempDatabase, admin_url  # noqa: E402

QUERY_TARGET_MS, PROBE_TARGET_MS = 20.0, 50.0
AFTER = timedelta(hours=1)  # the catalog's default stuck_after
TABLE = "upload_pipeline.upload_jobs"
WARM = 3
RECENT_ERRORS = (  # share of the last day's failures, message
    (0.4, "LlamaParse webhook failed for job {i}: 502 Bad Gateway"),
    (
        0.3,
        "Traceback (most recent call last):\n"
        '  File "/app/worker/embed.py", line 88, in store_chunks\n'
        "    await con.executemany(INSERT_CHUNKS, rows)\n"
        "asyncpg.exceptions.QueryCanceledError: canceling statement due to statement timeout",
    ),
    (0.2, "OpenAI embeddings: 429 Too Many Requests, retry after {i} ms"),
    (0.1, "PDF has no text layer (document {i})"),
)


@dataclass
class Load:
    """How many rows of each kind, for `rows` jobs in all."""

    rows: int
    stuck: dict[str, int] = field(default_factory=dict)
    recent_errors: int = 0
    statements: list[str] = field(default_factory=list)


def _load(rows: int) -> Load:
    live = rows // 100
    stuck = live // 5
    moving = live - stuck
    recent = rows // 500
    old_failed = (rows - live - recent) // 10
    done = rows - live - recent - old_failed
    load = Load(rows, {"queued": stuck // 2, "working": stuck - stuck // 2}, recent)
    s = load.statements
    # stuck: last touched 9 h to 2 h ago (queued), 3 h to 1.5 h ago (working)
    s.append(jobs(stuck // 2, "queued", "9 hours", spread="7 hours"))
    s.append(jobs(stuck - stuck // 2, "working", "3 hours", status="parsing", spread="90 minutes"))
    # moving: touched within the last 45 min, so still under 1 h at the end of the run
    s.append(jobs(moving // 2, "queued", "20 minutes", spread="20 minutes"))
    s.append(
        jobs(moving - moving // 2, "working", "45 minutes", status="embedding", spread="45 minutes")
    )
    s.append(jobs(done, "done", "30 days", status="complete", spread="30 days"))
    old = "Traceback (most recent call last):\nValueError: unsupported file type (job {i})"
    s.append(jobs(old_failed // 2, "failed", "30 days", error=old, spread="28 days"))
    s.append(
        jobs(
            old_failed - old_failed // 2,
            "failed",
            "30 days",
            error="LlamaParse webhook failed for job {i}: 504 Gateway Timeout",
            spread="28 days",
        )
    )
    left = recent
    for n, (share, message) in enumerate(RECENT_ERRORS):
        count = left if n == len(RECENT_ERRORS) - 1 else round(recent * share)
        left -= count
        s.append(jobs(count, "failed", "23 hours", error=message, spread="23 hours"))
    return load


def _pct(samples: list[float], p: int) -> float:
    """The p-th percentile (inclusive method), as bench/ack.py takes them."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def _scan(plan: dict[str, Any]) -> str:
    """The first scan in the plan, with its index and the workers of a Gather above it."""
    workers = ""

    def walk(node: dict[str, Any]) -> str | None:
        nonlocal workers
        kind = node.get("Node Type", "")
        if kind.startswith("Gather"):
            workers = f", {node.get('Workers Launched', node.get('Workers Planned'))} workers"
        if kind.endswith("Scan"):
            kind = ("Parallel " if node.get("Parallel Aware") else "") + kind
            index = node.get("Index Name") or next(
                (c.get("Index Name") for c in node.get("Plans", []) if c.get("Index Name")), None
            )
            return kind + (f" ({index})" if index else "")
        for child in node.get("Plans", []):
            if (found := walk(child)) is not None:
                return found
        return None

    found = walk(plan) or plan.get("Node Type", "?")
    return found + workers


@dataclass
class Timing:
    server: list[float]
    client: list[float]
    rows: int
    scan: str


async def _time_query(con: asyncpg.Connection, sql: str, arg: Any, runs: int) -> Timing:
    """EXPLAIN ANALYZE and the plain fetch, each in its own read-only transaction, alternating."""
    explain = f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"
    server: list[float] = []
    client: list[float] = []
    plan: dict[str, Any] = {}
    rows = 0
    for n in range(WARM + runs):
        async with read_only(con, DEFAULT) as ro:
            plan = json.loads(await ro.fetchval(explain, arg))[0]
        async with read_only(con, DEFAULT) as ro:
            start = time.perf_counter()
            rows = len(await ro.fetch(sql, arg))
            took = (time.perf_counter() - start) * 1000
        if n >= WARM:
            server.append(plan["Execution Time"])
            client.append(took)
    return Timing(server, client, rows, _scan(plan["Plan"]))


@dataclass
class Step:
    wall: list[float]
    result: StepResult


async def _time_step(url: str, runs: int) -> Step:
    catalog = Catalog.model_validate({"environments": {"production": {"database_url": url}}})
    ctx = ActionContext(catalog, ACTIONS)
    wall: list[float] = []
    result: Any = None
    try:
        for n in range(WARM + runs):
            start = time.perf_counter()
            result = await perform(understand("stuck production", ctx), ctx)
            if n >= WARM:
                wall.append((time.perf_counter() - start) * 1000)
    finally:
        await ctx.aclose()
    assert isinstance(result, StepResult)
    return Step(wall, result)


@dataclass
class Phase:
    name: str
    queries: dict[str, Timing]
    step: Step


async def _phase(name: str, url: str, q: Queries, runs: int, steps: int) -> Phase:
    con = await connect(url, DEFAULT)
    try:
        queries = {
            "counts": await _time_query(con, q.counts, AFTER, runs),
            "oldest": await _time_query(con, q.oldest, AFTER, runs),
            "errors": await _time_query(con, q.errors, ERROR_WINDOW, runs),
        }
    finally:
        await con.close()
    step = await _time_step(url, steps)
    print(f"  {name}: done", flush=True)
    return Phase(name, queries, step)


@dataclass
class Probed:
    label: str
    stages: dict[str, list[float]]
    totals: list[float]
    wall: list[float]
    dns: str
    failed: str | None


async def _probe(label: str, url: str, runs: int) -> Probed:
    resolver = Resolver()
    stages: dict[str, list[float]] = {}
    totals: list[float] = []
    wall: list[float] = []
    dns, failed = "", None
    for n in range(WARM + runs):
        start = time.perf_counter()
        found = await probe(url, resolver)
        took = (time.perf_counter() - start) * 1000
        if found.headline is not None:
            failed = found.headline.name
        if n < WARM:
            continue
        wall.append(took)
        totals.append(sum(s.ms for s in found.stages if s.ms is not None and s.name != "latency"))
        for s in found.stages:
            if s.name == "dns":
                dns = s.detail
            if s.ms is not None:
                stages.setdefault(s.name, []).append(s.ms)
            else:
                stages.setdefault(s.name, [])
    return Probed(label, stages, totals, wall, dns, failed)


def _with_host(url: str, host: str) -> str:
    parts = urlsplit(url)
    auth, _, _ = parts.netloc.rpartition("@")
    netloc = (auth + "@" if auth else "") + (f"[{host}]" if ":" in host else host)
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _probe_urls(url: str) -> list[tuple[str, str]]:
    """The URL by address and by name: loopback addresses are also `localhost`, a name is also
    its first IPv4 address."""
    host = urlsplit(url).hostname or "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        first = socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0]
        return [(f"by address ({first})", _with_host(url, str(first))), (f"by name ({host})", url)]
    out = [(f"by address ({host})", url)]
    if address.is_loopback:
        out.append(("by name (localhost)", _with_host(url, "localhost")))
    return out


def _ms(samples: list[float]) -> str:
    if not samples:
        return "-"
    return f"{statistics.median(samples):.1f} / {_pct(samples, 95):.1f}"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _index_hints(result: StepResult) -> list[str]:
    """The names of the indexes the step's hints ask for."""
    out = []
    for hint in result.hints:
        if "CREATE INDEX CONCURRENTLY" in hint:
            out.append(hint.split("CREATE INDEX CONCURRENTLY ", 1)[1].split()[0].strip('"'))
    return out


async def _bench(url: str, args: argparse.Namespace) -> None:
    catalog = Catalog.model_validate({"environments": {"production": {"database_url": url}}})
    q = Queries(catalog.jobs)
    load = _load(args.rows)
    admin = await asyncpg.connect(url, timeout=10)
    try:
        version = await admin.fetchval("SHOW server_version")
        settings = dict(
            await admin.fetch(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('shared_buffers', 'max_parallel_workers_per_gather', 'work_mem')"
            )
        )
        start = time.perf_counter()
        await admin.execute(SCHEMA)
        for statement in load.statements:
            await admin.execute(statement)
        loaded = time.perf_counter() - start
        await admin.execute(f"VACUUM ANALYZE {TABLE}")
        vacuumed = time.perf_counter() - start - loaded
        size = await admin.fetchval(f"SELECT pg_size_pretty(pg_total_relation_size('{TABLE}'))")
        print(
            f"loaded {args.rows:,} jobs in {loaded:.1f} s, VACUUM ANALYZE {vacuumed:.1f} s, "
            f"table {size}",
            flush=True,
        )

        phases = [await _phase("no index", url, q, args.runs, args.steps)]
        start = time.perf_counter()
        await admin.execute(PARTIAL_INDEX)
        await admin.execute(f"ANALYZE {TABLE}")
        built = time.perf_counter() - start
        stuck_size = await admin.fetchval(
            "SELECT pg_size_pretty(pg_relation_size('upload_pipeline.upload_jobs_stuck_idx'))"
        )
        phases.append(await _phase("partial index", url, q, args.runs, args.steps))
        start = time.perf_counter()
        await admin.execute(q.error_index.rstrip(";"))  # the step's own hint, as written
        await admin.execute(f"ANALYZE {TABLE}")
        built_errors = time.perf_counter() - start
        errors_size = await admin.fetchval(
            "SELECT pg_size_pretty(pg_relation_size('upload_pipeline.upload_jobs_errors_idx'))"
        )
        phases.append(await _phase("+ errors index", url, q, args.runs, args.steps))
    finally:
        await admin.close()
    probes = [await _probe(label, u, args.probes) for label, u in _probe_urls(url)]

    print()
    print(
        f"machine: {machine()}, "
        f"PostgreSQL {version} (shared_buffers {int(settings['shared_buffers']) * 8 // 1024} MB, "
        f"max_parallel_workers_per_gather {settings['max_parallel_workers_per_gather']})"
    )
    print(f"date: {datetime.now(UTC):%a %d %b %Y %H:%M} UTC")
    print(
        f"data: {args.rows:,} jobs ({size}), {sum(load.stuck.values()):,} stuck, "
        f"{load.recent_errors:,} errors in 24 h; partial index {stuck_size} "
        f"(built with ANALYZE in {built * 1000:.0f} ms), errors index {errors_size} "
        f"({built_errors * 1000:.0f} ms)"
    )
    print(f"\nqueries, {args.runs} runs each after {WARM} warm-up (ms, p50 / p95):")
    rows = []
    for phase in phases:
        for name, t in phase.queries.items():
            rows.append((phase.name, name, t.scan, _ms(t.server), _ms(t.client), str(t.rows)))
    table(("index", "query", "plan", "server exec", "client fetch", "rows"), rows)

    print(f"\n`stuck production` end to end, {args.steps} runs after {WARM} warm-up (ms):")
    rows = []
    for phase in phases:
        r = phase.step.result
        data = r.data
        right = data["stuck"] == load.stuck and data["errors_24h"] == load.recent_errors
        rows.append(
            (
                phase.name,
                _ms(phase.step.wall),
                f"{r.verdict.value}, stuck {data['stuck']}, errors {data['errors_24h']:,}"
                + ("" if right else " (EXPECTED " + f"{load.stuck}, {load.recent_errors:,})"),
                ", ".join(_index_hints(r)) or "none",
            )
        )
    table(("index", "p50 / p95", "result", "CREATE INDEX hints"), rows)

    print(f"\n`db` probe, {args.probes} runs after {WARM} warm-up (ms, p50 / p95):")
    names = list(dict.fromkeys(n for p in probes for n in p.stages))
    rows = [(n, *(_ms(p.stages.get(n, [])) for p in probes)) for n in names]
    rows.append(("total (no latency)", *(_ms(p.totals) for p in probes)))
    rows.append(("wall of probe()", *(_ms(p.wall) for p in probes)))
    table(("stage", *(p.label for p in probes)), rows)
    for p in probes:
        print(f"  {p.label}: dns {p.dns}" + (f"; FAILED: {p.failed}" if p.failed else ""))

    print("\ntargets:")
    with_index = phases[1].queries["counts"]
    without = phases[0].step.result
    checks: list[tuple[str, str, str, Callable[[], bool]]] = [
        (
            "stuck counts query, partial index, client p95",
            f"{_pct(with_index.client, 95):.1f} ms (server {_pct(with_index.server, 95):.1f})",
            f"<= {QUERY_TARGET_MS:g} ms",
            lambda: _pct(with_index.client, 95) <= QUERY_TARGET_MS,
        ),
        (
            "step hints the stuck index without it",
            ", ".join(_index_hints(without)) or "none",
            "upload_jobs_stuck_idx",
            lambda: "upload_jobs_stuck_idx" in _index_hints(without),
        ),
        (
            "no stuck-index hint once it exists",
            ", ".join(_index_hints(phases[1].step.result)) or "none",
            "not upload_jobs_stuck_idx",
            lambda: "upload_jobs_stuck_idx" not in _index_hints(phases[1].step.result),
        ),
        (
            "no CREATE INDEX hint with both indexes",
            ", ".join(_index_hints(phases[2].step.result)) or "none",
            "none",
            lambda: not _index_hints(phases[2].step.result),
        ),
    ]
    for p in probes:
        checks.append(
            (
                f"db probe total p95, {p.label}",
                f"{_pct(p.totals, 95):.1f} ms (p50 {statistics.median(p.totals):.1f})",
                f"<= {PROBE_TARGET_MS:g} ms",
                lambda p=p: p.failed is None and _pct(p.totals, 95) <= PROBE_TARGET_MS,
            )
        )
    table(
        ("target", "measured", "wanted", "verdict"),
        [(name, got, want, _verdict(ok())) for name, got, want, ok in checks],
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="jobs to load")
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each query")
    parser.add_argument("--steps", type=int, default=20, help="timed runs of the whole step")
    parser.add_argument("--probes", type=int, default=30, help="timed runs of the db probe")
    args = parser.parse_args()
    if min(args.runs, args.steps, args.probes) < 2:
        parser.error("--runs, --steps and --probes need at least 2 (a p95 needs two samples)")
    started = time.perf_counter()
    with TempDatabase(admin_url()) as db:
        print(f"database {db.name} (dropped at the end)", flush=True)
        asyncio.run(_bench(db.url, args))
    print(f"\nwhole run {time.perf_counter() - started:.0f} s; database {db.name} dropped")


if __name__ == "__main__":
    main()
