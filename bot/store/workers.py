"""Worker heartbeats: each worker says it is alive every few seconds, so /healthz can tell a
web process whose workers are all gone (they may run on other machines)."""

from __future__ import annotations

import time

from sqlalchemy import delete, func, select

from bot.store.engine import Store
from bot.store.tables import workers


async def beat(store: Store, worker: str, host: str, pid: int, started: float) -> None:
    now = time.time()
    statement = store.insert(workers).values(
        id=worker, host=host, pid=pid, started_at=started, seen_at=now
    )
    statement = statement.on_conflict_do_update(index_elements=["id"], set_={"seen_at": now})
    async with store.write() as conn:
        await conn.execute(statement)


async def gone(store: Store, worker: str) -> None:
    """A worker that stops cleanly leaves the list at once."""
    async with store.write() as conn:
        await conn.execute(delete(workers).where(workers.c.id == worker))


async def last_seen(store: Store) -> float | None:
    """When any worker last said it was alive (None: never)."""
    async with store.read() as conn:
        seen = (await conn.execute(select(func.max(workers.c.seen_at)))).scalar()
    return float(seen) if seen is not None else None
