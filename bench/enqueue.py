"""What the web process pays to put a command in the store before it acks: `Jobs.enqueue`, one
job per call, through the engine `build_deps` opens (`open_store(FRACAS_STORE_URL)`), on a new
SQLite file and on a new PostgreSQL database (dropped at the end, whatever happens).

Rounds alternate between the two stores, so drift hits both. Uses FRACAS_TEST_DATABASE_URL as
admin URL if set, else postgres@127.0.0.1:5432 (trust). Benchmarks are not tests (see
bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bot.present.slack import escape
from bot.slack.work import COMMAND, CommandOrder
from bot.store.engine import Store, open_store
from bot.store.jobs import Jobs
from bot.store.migrate import migrate
from bot.store.tables import jobs as jobs_table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from printout import machine_facts  # noqa: E402

from fakes.pg import TempDatabase, admin_url  # noqa: E402

LEVELS = (1, 5, 20)  # 20: the burst bench/ack.py fires (20 `/fracas soak` at once)
WARMUP = 50
USER, CHANNEL = "U0CALLER01", "C0123456789"


def order(text_: str) -> CommandOrder:
    """The order the `/fracas` listener builds for a command that is not instant."""
    return CommandOrder(
        channel=CHANNEL,
        user=USER,
        response_url=f"https://hooks.slack.com/commands/T0TEAM/{secrets.token_hex(6)}/x",
        text=text_,
        origin=f"`/fracas {escape(text_)}` · <@{USER}>",
    )


async def one(jobs: Jobs, samples: list[float]) -> None:
    """One enqueue as the listener makes it: a fresh trigger id, so a fresh key."""
    command = "run worker-down production"
    key = f"slack:trigger:{time.time_ns()}.T0TEAM.{secrets.token_hex(10)}"
    start = time.perf_counter()
    added = await jobs.enqueue(COMMAND, order(command), key, requested_by=USER, summary=command)
    samples.append(time.perf_counter() - start)
    if not added:
        raise RuntimeError(f"enqueue of a new key {key} added nothing")


async def one_round(jobs: Jobs, c: int, n: int, samples: list[float]) -> float:
    """n enqueues with c in flight (c requests acking at once); returns the wall time."""
    todo = iter(range(n))

    async def worker() -> None:
        for _ in todo:
            await one(jobs, samples)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(c)))
    return time.perf_counter() - start


def figures(samples: list[float], wall: float) -> dict[str, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    ms = {"p50_ms": q[49], "p99_ms": q[98], "mean_ms": statistics.fmean(samples)}
    out = {k: round(v * 1000, 2) for k, v in ms.items()} | {"max_ms": round(max(samples) * 1e3, 1)}
    return out | {"per_s": round(len(samples) / wall), "calls": len(samples)}


async def server_facts(store: Store) -> dict[str, str]:
    """What decides a commit's cost: the version, and whether a commit waits for its fsync."""
    if not store.postgres:
        return {"sqlite": sqlite3.sqlite_version, "pragmas": "WAL, synchronous=NORMAL"}
    async with store.engine.connect() as conn:
        names = ("server_version", "synchronous_commit", "fsync", "wal_sync_method")
        return {n: str((await conn.execute(text(f"SHOW {n}"))).scalar()) for n in names}


async def bench(urls: dict[str, tuple[str, dict[str, Any]]], n: int, rounds: int) -> dict[str, Any]:
    stores = {name: open_store(url, **engine) for name, (url, engine) in urls.items()}
    try:
        for store in stores.values():
            await migrate(store)
        jobs = {name: Jobs(store) for name, store in stores.items()}
        for name in stores:
            await one_round(jobs[name], 1, WARMUP, [])
        samples: defaultdict[tuple[str, int], list[float]] = defaultdict(list)
        walls: defaultdict[tuple[str, int], float] = defaultdict(float)
        for c in LEVELS:
            print(f"c={c}: {rounds} rounds each of {', '.join(stores)}", file=sys.stderr)
            for _ in range(rounds):
                for name in stores:
                    walls[name, c] += await one_round(jobs[name], c, n, samples[name, c])
        table = {
            name: {f"c{c}": figures(samples[name, c], walls[name, c]) for c in LEVELS}
            for name in stores
        }
        facts = {name: await server_facts(store) for name, store in stores.items()}
        rows = {}
        for name, store in stores.items():
            async with store.engine.connect() as conn:
                rows[name] = (
                    await conn.execute(select(func.count()).select_from(jobs_table))
                ).scalar()
    finally:
        await asyncio.gather(*(s.close() for s in stores.values()))
    return {"figures": table, "servers": facts, "rows": rows}


def markdown(result: dict[str, Any]) -> str:
    m, cfg = result["machine"], result["config"]
    lines = [
        f"{m['nproc']} cores, {m['cpu']}, Python {m['python']}, {m['date']}; "
        f"{cfg['calls_per_round']} calls x {cfg['rounds']} rounds per store and level",
        "",
        "| store | c | calls | p50 ms | p99 ms | mean ms | max ms | enqueues/s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, levels in result["figures"].items():
        for level, f in levels.items():
            lines.append(
                f"| {name} | {level[1:]} | {f['calls']} | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} "
                f"| {f['mean_ms']:.2f} | {f['max_ms']:.1f} | {f['per_s']} |"
            )
    lines += ["", *(f"{name}: {facts}" for name, facts in result["servers"].items())]
    lines.append(f"rows in jobs at the end: {result['rows']}")
    return "\n".join(lines)


@contextlib.contextmanager
def stores(tmp: Path) -> Iterator[dict[str, tuple[str, dict[str, Any]]]]:
    """The engines `open_store` makes, on a new SQLite file and a new PostgreSQL database."""
    with TempDatabase(admin_url()) as db:
        print(f"database {db.name} (dropped at the end)", file=sys.stderr)
        yield {
            "SQLite": (f"sqlite:///{tmp / 'fracas.db'}", {}),
            "PostgreSQL": (db.url, {}),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="enqueues per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per store and level")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fracas-enqueue-") as tmp, stores(Path(tmp)) as urls:
        result = asyncio.run(bench(urls, args.calls, args.rounds))
    result = {
        "machine": machine_facts(),
        "config": {"calls_per_round": args.calls, "rounds": args.rounds},
    } | result
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
