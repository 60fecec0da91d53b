"""Log triage building blocks: signatures, traceback folding, clusters, sparklines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.diagnoses import diagnose
from bot.patterns import Folder, Line, rhythm, signatures, sparkline, triage

T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def lines(*messages: str, instance: str = "i1", start: datetime = T0) -> list[Line]:
    return [
        Line(start + timedelta(milliseconds=i), m, "", instance) for i, m in enumerate(messages)
    ]


def test_signatures_hide_what_varies() -> None:
    got = signatures(
        [
            "2026-11-23 04:00:00,123 job 4f9a2c1e-1111-2222-3333-444455556666 failed after 3 tries",
            "job 9d0e1f2a-aaaa-bbbb-cccc-ddddeeeeffff failed after 12 tries",
            'relation "upload_pipeline.documents" does not exist',
            "instance srv-d0cjkelq67qs70c2pugg-sbpkm at 10.0.0.1:5432 answered 0xdeadbeef",
        ]
    )
    assert got[0] == "<ts> job <uuid> failed after <n> tries"
    assert got[1] == "job <uuid> failed after <n> tries"
    assert got[2] == 'relation "<v>" does not exist'
    assert got[3] == "instance <id> at <ip> answered <hex>"


TRACEBACK = (
    "Traceback (most recent call last):",
    '  File "/app/worker.py", line 3, in <module>',
    "    connect()",
    "ConnectionRefusedError: [Errno 111] Connection refused",
)


def test_a_traceback_folds_into_its_last_line_per_instance() -> None:
    folder = Folder()
    one, two = lines(*TRACEBACK, instance="a"), lines(*TRACEBACK, instance="b")
    for pair in zip(one, two, strict=True):  # two instances crashing at once, interleaved
        for line in pair:
            folder.add(line)
    events = folder.finish()
    assert [e.text for e in events] == [TRACEBACK[-1]] * 2
    assert events[0].level == "error" and events[0].mentions("worker.py")


def test_chained_exceptions_key_on_the_final_one() -> None:
    chained = (
        *TRACEBACK,
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "/app/worker.py", line 9, in <module>',
        "OSError: [Errno 101] Network is unreachable",
        "worker stopped",
    )
    folder = Folder()
    for line in lines(*chained):
        folder.add(line)
    assert [e.text for e in folder.finish()] == [chained[-2], "worker stopped"]


def test_a_traceback_cut_by_the_window_still_counts() -> None:
    folder = Folder()
    for line in lines(*TRACEBACK[:3]):
        folder.add(line)
    (event,) = folder.finish()
    assert event.level == "error"


async def test_clusters_rank_known_failures_first() -> None:
    noisy = [Line(T0 + timedelta(seconds=i), f"ERROR retry {i} failed") for i in range(50)]
    known = [Line(T0 + timedelta(minutes=30), "OSError: [Errno 101] Network is unreachable")]
    clusters, kept = await triage(noisy + known)
    assert kept == 51
    assert clusters[0].diagnosis is not None and clusters[0].count == 1
    assert clusters[1].count == 50 and clusters[1].signature == "ERROR retry <n> failed"


def test_sparkline_shows_when() -> None:
    end = T0 + timedelta(hours=1)
    burst = [T0 + timedelta(minutes=50, seconds=s) for s in range(30)]
    line = sparkline([T0, *burst], T0, end, width=12)
    assert len(line) == 12
    assert line[0] == "▁" and line[10] == "█" and set(line[1:10]) == {"·"}


def test_rhythm_names_the_timing_pattern() -> None:
    end = T0 + timedelta(hours=1)
    loop = [T0 + timedelta(minutes=2 * i, seconds=i % 3) for i in range(30)]
    assert rhythm(loop, T0, end) == "every ~2m"
    burst = [T0 + timedelta(minutes=40, seconds=7 * i) for i in range(20)]
    assert rhythm(burst, T0, end) == "in a burst"
    late = [T0 + timedelta(minutes=m) for m in (30, 31, 35, 44, 45, 52, 58)]
    assert rhythm(late, T0, end) == "started 30m ago"
    assert rhythm(late[:2], T0, end) == ""


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("asyncpg.exceptions.InternalServerError: Tenant or user not found", "does not know"),
        ("FATAL: (EMAXCONN) max client connections reached, limit: 200", "client connection"),
        ("ProtocolViolationError: SASL authentication failed", "PgBouncer rejected the login"),
        ("webhook timed out after 30 s", None),
    ],
)
def test_pooler_errors_in_logs_are_named_like_the_db_probe_names_them(
    line: str, named: str | None
) -> None:
    found = diagnose(line)
    if named is None:
        assert found is None
    else:
        assert found is not None and named in found.name
