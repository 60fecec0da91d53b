"""Log triage building blocks: signatures, traceback folding, clusters, sparklines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.diagnoses import diagnose
from bot.folding import Folder, Line, is_exception_line
from bot.patterns import rhythm, signatures, sparkline, triage

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


# folding in both shapes, with prefixes, cut short, chained

PREFIXES = ["", "app_1  | ", "2025-09-18 23:59:24 ", "2025-09-18T23:59:24.123Z ", "worker-1  | "]
NEXT = "Starting enhanced worker pid=1000 attempt=1"


def fold(entries: list[str], instance: str = "i1") -> list:
    folder = Folder()
    for line in lines(*entries, instance=instance):
        folder.add(line)
    return folder.finish()


def shaped(rows: list[str], shape: str, prefix: str) -> list[str]:
    rows = [prefix + row for row in rows]
    return ["\n".join(rows)] if shape == "entry" else rows


@pytest.mark.parametrize("shape", ["entry", "lines"])
@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_traceback_folds_in_either_shape_and_never_takes_the_next_entry(
    shape: str, prefix: str
) -> None:
    events = fold([*shaped(list(TRACEBACK), shape, prefix), prefix + NEXT])
    assert [(e.text, e.level) for e in events] == [
        (TRACEBACK[-1], "error"),
        (prefix + NEXT, "info"),
    ]
    assert events[0].mentions("worker.py") and not events[1].body


@pytest.mark.parametrize("shape", ["entry", "lines"])
def test_a_prefix_whose_digits_change_width_still_folds(shape: str) -> None:
    """`docker logs -t` trims a timestamp's trailing zeros, so its width varies line to line."""
    stamps = [f"2025-09-18T23:59:24.{n}Z " for n in ("123456789", "1234", "12345678", "5", "0")]
    rows = [stamps[i % len(stamps)] + row for i, row in enumerate(TRACEBACK)]
    entries = ["\n".join(rows)] if shape == "entry" else rows
    events = fold([*entries, stamps[1] + NEXT])
    assert [e.text for e in events] == [TRACEBACK[-1], stamps[1] + NEXT]


@pytest.mark.parametrize("shape", ["entry", "lines"])
@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_traceback_cut_before_its_exception_line_is_named_by_its_last_frame(
    shape: str, prefix: str
) -> None:
    events = fold([*shaped(list(TRACEBACK[:3]), shape, prefix), prefix + NEXT])
    assert [e.text for e in events] == [
        'traceback cut off in File "/app/worker.py", line 3, in <module>',
        prefix + NEXT,
    ]
    assert events[0].level == "error" and diagnose(events[0].words()) is None


CHAIN = [
    *TRACEBACK[:-1],
    "OSError: [Errno 101] Network is unreachable",
    "",
    "The above exception was the direct cause of the following exception:",
    "",
    "Traceback (most recent call last):",
    '  File "/app/worker.py", line 9, in <module>',
    "RuntimeError: worker could not start",
]


@pytest.mark.parametrize("shape", ["entry", "lines"])
@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_chain_keys_on_its_last_exception_and_is_diagnosed_by_its_first(
    shape: str, prefix: str
) -> None:
    (event, after) = fold([*shaped(CHAIN, shape, prefix), prefix + NEXT])
    assert event.text == "RuntimeError: worker could not start"
    assert event.cause == "OSError: [Errno 101] Network is unreachable"
    assert after.text == prefix + NEXT
    found = diagnose(event.words())
    assert found is not None and "errno 101" in found.name


async def test_one_wrapper_over_two_causes_is_two_patterns() -> None:
    refused = [*CHAIN[:3], "ConnectionRefusedError: [Errno 111] Connection refused", *CHAIN[4:]]
    entries = [
        Line(T0 + timedelta(minutes=n), "\n".join(CHAIN if n % 2 else refused)) for n in range(6)
    ]
    clusters, _ = await triage(entries)
    assert sorted((c.count, c.example, c.diagnosis is not None) for c in clusters) == [
        (3, "RuntimeError: worker could not start (from ConnectionRefusedError: [Errno 111] "
         "Connection refused)", True),
        (3, "RuntimeError: worker could not start (from OSError: [Errno 101] Network is "
         "unreachable)", True),
    ]  # fmt: skip


def test_frames_are_not_words() -> None:
    """Code in a frame that names an error is not that error happening."""
    rows = [
        "Traceback (most recent call last):",
        '  File "/app/db.py", line 3, in run',
        "    except asyncpg.ConnectionDoesNotExistError:  # server closed the connection "
        "unexpectedly",
        "KeyError: 'job_id'",
    ]
    (event,) = fold(["\n".join(rows)])
    assert event.text == "KeyError: 'job_id'" and diagnose(event.words()) is None


def test_interleaved_containers_and_continuations() -> None:
    rows = [
        "api-1     | Traceback (most recent call last):",
        'api-1     |   File "/app/db.py", line 3, in run',
        "worker-1  | Polling for jobs",
        "api-1     | sqlalchemy.exc.DBAPIError: (sqlalchemy.dialects.postgresql.asyncpg.Error) "
        "<class 'asyncpg.exceptions.ConnectionDoesNotExistError'>: connection was closed in the "
        "middle of operation",
        "api-1     | [SQL: SELECT job_id",
        "api-1     | FROM upload_pipeline.upload_jobs]",
        "api-1     | (Background on this error at: https://sqlalche.me/e/20/dbapi)",
        "api-1     | INFO:     Uvicorn running on http://0.0.0.0:10000 (Press CTRL+C to quit)",
    ]
    events = fold(rows)
    assert [e.text[:28] for e in events] == [
        "worker-1  | Polling for jobs",
        "sqlalchemy.exc.DBAPIError: (",
        "api-1     | INFO:     Uvicor",
    ]
    assert events[1].said == [events[1].text]  # the statement is not words to diagnose
    found = diagnose(events[1].words())
    assert found is not None and "closed the connection" in found.name


def test_a_pause_ends_a_traceback() -> None:
    folder = Folder()
    folder.add(Line(T0, TRACEBACK[0]))
    folder.add(Line(T0 + timedelta(seconds=30), "    indented, but half a minute later"))
    assert [e.text for e in folder.finish()] == [
        "traceback cut off",
        "    indented, but half a minute later",
    ]


@pytest.mark.parametrize(
    ("line", "exception"),
    [
        ("OSError: [Errno 101] Network is unreachable", True),
        ("psycopg2.errors.AdminShutdown: terminating connection", True),
        ("asyncio.exceptions.CancelledError", True),
        ("KeyboardInterrupt", True),
        ("socket.gaierror: [Errno -2] Name or service not known", True),
        ("error: [Errno 10048] Only one usage of each socket address", True),
        ("Starting enhanced worker pid=1000 attempt=1", False),
        ("INFO:     Uvicorn running on http://0.0.0.0:10000", False),
        ("FATAL:  terminating connection due to administrator command", False),
        ("worker stopped", False),
        ("Shutdown", False),
        ("CONFIGURATION_ERROR_FATAL threshold exceeded", False),
    ],
)
def test_what_reads_as_an_exception_line(line: str, exception: bool) -> None:
    assert is_exception_line(line) is exception


# rhythm: a loop still going is not a burst that is over


def test_a_live_loop_over_a_long_window_says_it_is_still_going() -> None:
    end = T0 + timedelta(hours=24)
    loop = [end - timedelta(minutes=1 + 2 * i, seconds=i % 3) for i in range(20)]
    assert rhythm(loop, T0, end) == "every ~2m since 39m ago"
    over = [t - timedelta(minutes=30) for t in loop]  # the same loop, stopped half an hour ago
    assert rhythm(over, T0, end) == "in a burst"
    long_over = [end - timedelta(hours=3, minutes=2 * i) for i in range(90)]
    assert rhythm(long_over, T0, end) == "every ~2m until 3h ago"
    uneven = [end - timedelta(minutes=m) for m in (40, 33, 31, 20, 12, 11, 4, 1)]
    assert rhythm(uneven, T0, end) == "started 40m ago"
    assert rhythm([t - timedelta(hours=5) for t in uneven], T0, end) == "in a burst"
