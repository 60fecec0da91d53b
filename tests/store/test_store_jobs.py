"""The job queue's contract, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from bot.store.engine import Store, open_store
from bot.store.jobs import Jobs


class Order(BaseModel):
    text: str


async def test_a_key_enqueues_once(store: Store) -> None:
    jobs = Jobs(store)
    first = await jobs.enqueue("k", Order(text="a"), "slack:trigger:1", requested_by="U1")
    again = await jobs.enqueue("k", Order(text="b"), "slack:trigger:1", requested_by="U1")
    assert (first, again) == (True, False)
    job = await jobs.get("slack:trigger:1")
    assert job is not None and Order.model_validate_json(job.payload).text == "a"
    assert job.state == "queued" and job.requested_by == "U1"


async def test_concurrent_enqueues_of_one_key_make_one_job(store_url: str, store: Store) -> None:
    """Two replicas seeing one delivery at the same moment, each with its own engine."""
    others = [open_store(store_url) for _ in range(4)]
    try:
        added = await asyncio.gather(
            *(Jobs(s).enqueue("k", Order(text="x"), "same") for s in others for _ in range(5))
        )
    finally:
        await asyncio.gather(*(s.close() for s in others))
    assert sum(added) == 1


async def test_claimers_never_share_a_job(store_url: str, store: Store) -> None:
    jobs = Jobs(store)
    for i in range(40):
        await jobs.enqueue("k", Order(text=str(i)), f"key{i}")
    engines = [open_store(store_url) for _ in range(4)]
    try:
        rounds = await asyncio.gather(
            *(Jobs(e).claim(f"w{n}", 3, 30) for n, e in enumerate(engines) for _ in range(4))
        )
    finally:
        await asyncio.gather(*(e.close() for e in engines))
    ids = [job.id for batch in rounds for job in batch]
    assert len(ids) == len(set(ids)) == 40  # every job claimed, none twice


async def test_a_lapsed_lease_is_claimed_again_and_the_first_holder_is_fenced_off(
    store: Store,
) -> None:
    jobs = Jobs(store)
    await jobs.enqueue("k", Order(text="a"), "key")
    (first,) = await jobs.claim("w1", 5, lease=0.2)
    assert await jobs.claim("w2", 5, lease=30) == []  # still held
    await asyncio.sleep(0.3)
    (second,) = await jobs.claim("w2", 5, lease=30)
    assert second.id == first.id and second.attempts == 2 and second.rerun
    assert not await jobs.remember(first, ts="1.1")  # w1's late writes change nothing
    assert not await jobs.finish(first, "done")
    assert await jobs.remember(second, ts="2.2") and await jobs.finish(second, "done")
    done = await jobs.get("key")
    assert done is not None and done.state == "done" and done.progress == {"ts": "2.2"}


async def test_renewal_keeps_the_job_and_release_hands_it_over_at_once(store: Store) -> None:
    jobs = Jobs(store)
    await jobs.enqueue("k", Order(text="a"), "key")
    (held,) = await jobs.claim("w1", 5, lease=0.3)
    await asyncio.sleep(0.2)
    assert await jobs.renew("w1", lease=30) == 1
    await asyncio.sleep(0.2)
    assert await jobs.claim("w2", 5, lease=30) == []  # renewed: not lapsed
    assert await jobs.release("w1", [held.id]) == 1
    (taken,) = await jobs.claim("w2", 5, lease=30)
    assert taken.worker == "w2" and taken.rerun


async def test_past_its_last_attempt_a_job_is_claimed_once_more_to_say_so(store: Store) -> None:
    jobs = Jobs(store)
    await jobs.enqueue("k", Order(text="a"), "key", max_attempts=2)
    seen = []
    for _ in range(4):
        claimed = await jobs.claim("w", 5, lease=0.05)
        seen += [(j.attempts, j.given_up) for j in claimed]
        await asyncio.sleep(0.1)
    assert seen == [(1, False), (2, False), (3, True)]
    await jobs.claim("w", 5, lease=0.05)  # the notice's own claim lapsed too: failed
    job = await jobs.get("key")
    assert job is not None and job.state == "failed" and job.error == "interrupted too often"


async def test_recent_lists_open_jobs_and_those_ended_since(store: Store) -> None:
    jobs = Jobs(store)
    for key in ("a", "b", "c"):
        await jobs.enqueue("k", Order(text=key), key, summary=f"run {key}")
    claimed = await jobs.claim("w", 2, lease=30)
    await jobs.finish(claimed[0], "failed", "boom")
    listed = await jobs.recent(since=0)
    assert [(j.key, j.state) for j in listed] == [
        ("c", "queued"),
        ("b", "running"),
        ("a", "failed"),
    ]
    assert listed[2].error == "boom" and listed[2].summary == "run a"
