"""`logs` against what real logs hold: tracebacks quoted from public issue threads in both shapes
(one entry, one line per entry), with prefixes, chained, cut short; the wording servers, poolers
and drivers print, with lines that only look like failures; a crash loop still going. Through the
door a user uses (`logs` over the Render stand-in, `db` over a loopback Postgres) and through
the folder itself. tests/data/logs/*.yaml hold the samples and their sources."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.actions.registry import ActionContext
from bot.diagnoses import KNOWN, diagnose
from bot.folding import Folder, Line
from bot.patterns import signatures, triage
from bot.results import StepResult, Table, Verdict
from bot.sandbox.fm030 import TRACEBACK
from bot.sandbox.render_api import FakeRender
from bot.wiring import build_context

from conftest import db_context, run, stack_settings
from fakes.pgwire import ErrorAnswer, WireServer

DATA = Path(__file__).parent / "data" / "logs"
SAMPLES: list[dict[str, Any]] = yaml.safe_load((DATA / "failures.yaml").read_text())["samples"]
TRACEBACKS: list[dict[str, Any]] = yaml.safe_load((DATA / "tracebacks.yaml").read_text())[
    "tracebacks"
]
T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
WORKER = "upload-worker-production"  # what `logs worker production` reads in the catalog


def named(key: str | None) -> str | None:
    return KNOWN[key].name if key else None


# the wording: every sample gets its diagnosis, and the look-alikes none


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s["text"][:60])
def test_each_real_message_gets_its_diagnosis(sample: dict[str, Any]) -> None:
    found = diagnose(sample["text"])
    assert (found.name if found else None) == named(sample["diagnosis"]), sample.get("source")


def test_the_samples_cover_what_the_brief_and_the_reference_ask_for() -> None:
    wanted = {
        "too_many_connections",
        "password",
        "hba_no_tls",
        "server_closed",
        "admin_shutdown",
        "port_in_use",
        "no_database",
        "peer",
        "permission",
        "statement_timeout",
        "lock_timeout",
        "read_only",
        "cached_plan",
        "idle_in_transaction",
        "tls_not_offered",
        "tls_untrusted",
        "dns",
        "refused",
        "network_unreachable",
    }
    assert wanted <= {s["diagnosis"] for s in SAMPLES}
    assert sum(s["diagnosis"] is None for s in SAMPLES) >= 15


def test_a_sqlalchemy_wrapper_is_read_by_its_inner_asyncpg_error() -> None:
    wrapped = (
        "sqlalchemy.exc.DBAPIError: (sqlalchemy.dialects.postgresql.asyncpg.Error) <class "
        "'asyncpg.exceptions.{cls}'>: {message}"
    )
    cases = {
        ("TooManyConnectionsError", "sorry, too many clients already"): "too_many_connections",
        ("InterfaceError", "cannot perform operation: another operation is in progress"): (
            "busy_connection"
        ),
        ("InvalidPasswordError", 'password authentication failed for user "postgres.x"'): (
            "password"
        ),
        ("PostgresSyntaxError", 'syntax error at or near "FROM"'): None,
    }
    for (cls, message), key in cases.items():
        found = diagnose(wrapped.format(cls=cls, message=message))
        assert (found.name if found else None) == named(key), cls


@pytest.mark.parametrize(
    ("words", "key"),
    [
        (  # a root cause under the wrapper's closed connection: the root is named
            "OSError: [Errno 101] Network is unreachable\n"
            "asyncpg.exceptions._base.InterfaceError: connection is closed",
            "network_unreachable",
        ),
        (  # PgBouncer's words inside asyncpg's closed connection
            "asyncpg.exceptions.ConnectionDoesNotExistError: connection was closed in the "
            "middle of operation: query_wait_timeout",
            "pooler_saturated",
        ),
        (  # errno 99 of a bind is a port problem, not the IPv6-only database host
            "ERROR:    [Errno 99] error while attempting to bind on address ('::1', 8000, 0, 0)",
            "bind_address",
        ),
        (  # a node DNS failure is not Supavisor's (ENOTFOUND) tenant error
            "Error: getaddrinfo ENOTFOUND db.abcdefghij.supabase.co",
            "dns",
        ),
        (  # the admin's shutdown beats the closed SSL connection printed under it
            "terminating connection due to administrator command\n"
            "SSL connection has been closed unexpectedly",
            "admin_shutdown",
        ),
    ],
)
def test_the_more_specific_words_win(words: str, key: str) -> None:
    found = diagnose(words)
    assert found is not None and found.name == named(key)


# the folding of real tracebacks, in both shapes


def entries(sample: dict[str, Any], shape: str) -> list[Line]:
    rows = [sample["text"]] if shape == "entry" else sample["text"].split("\n")
    rows += sample.get("then", [])
    return [
        Line(T0 + timedelta(milliseconds=n), row, "", "srv-x-abc12") for n, row in enumerate(rows)
    ]


CASES = [(t, shape) for t in TRACEBACKS for shape in t["shapes"]]


@pytest.mark.parametrize(
    ("sample", "shape"), CASES, ids=[f"{t['source'].split('.com/')[1]}-{s}" for t, s in CASES]
)
def test_a_real_traceback_folds_into_one_event(sample: dict[str, Any], shape: str) -> None:
    folder = Folder()
    for line in entries(sample, shape):
        folder.add(line)
    events = folder.finish()
    (event,) = [e for e in events if e.text == sample["key"]]
    assert event.level == "error"
    found = diagnose(event.words())
    assert (found.name if found else None) == named(sample["diagnosis"])
    assert len(events) == sample["shapes"][shape], [e.text[:80] for e in events]
    for then in sample.get("then", []):
        assert [e.text for e in events].count(then) == 1  # the next entry stays its own


# the door: `logs worker production` over the Render stand-in


@pytest.fixture
async def bare(render: FakeRender, tmp_path: Path) -> AsyncIterator[ActionContext]:
    """The catalog's services on a stand-in holding only what the test adds."""
    ctx = build_context(stack_settings(render, tmp_path))
    ctx.render.backoff = 0.01
    yield ctx
    await ctx.aclose()


def worker(render: FakeRender) -> str:
    return render.add_service(WORKER, "background_worker")["id"]


def crash_loop(
    render: FakeRender,
    service: str,
    traceback: str,
    *,
    every: timedelta,
    count: int,
    last: timedelta,
    per_line: bool = False,
) -> None:
    """`count` crashes `every` apart, the newest `last` ago, each followed by the restart's line:
    the traceback in one entry, or `per_line`, one entry per line as Render splits output."""
    now = datetime.now(UTC)
    for n in range(count):
        at = now - last - every * n
        rows = traceback.split("\n") if per_line else [traceback]
        for i, row in enumerate(rows):
            render.add_log(service, row, timestamp=at + timedelta(milliseconds=i), level="error")
        restart = f"Starting enhanced worker pid={1000 + n} attempt=1"
        render.add_log(service, restart, timestamp=at + timedelta(seconds=2))


def rows(result: StepResult) -> list[tuple[str, ...]]:
    assert isinstance(result.details, Table)
    return list(result.details.rows)


async def test_a_traceback_written_as_one_entry_is_the_pattern_not_the_next_line(
    bare: ActionContext, render: FakeRender
) -> None:
    crash_loop(
        render,
        worker(render),
        "\n".join(TRACEBACK),
        every=timedelta(minutes=1),
        count=60,
        last=timedelta(seconds=20),
    )
    result = await run(bare, "logs worker production")
    assert result.verdict is Verdict.FAIL
    assert result.summary.startswith("network unreachable (errno 101): an IPv6-only database host")
    assert "60 times in 1h" in result.summary
    top, *others = rows(result)
    assert (top[0], top[1], top[6]) == (
        "60",
        "error",
        "OSError: [Errno 101] Network is unreachable",
    )
    restarts = [r for r in others if r[6].startswith("Starting enhanced worker")]
    assert [(r[0], r[1]) for r in restarts] == [("60", "info")]
    assert any("Supavisor pooler" in hint for hint in result.hints)


CHAINED = "\n".join(
    [
        *TRACEBACK,
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        '  File "/opt/render/project/src/worker/main.py", line 52, in <module>',
        '    raise WorkerStartError("could not reach the job queue") from exc',
        "worker.errors.WorkerStartError: could not reach the job queue",
    ]
)


async def test_a_root_cause_below_a_wrapper_is_still_named(
    bare: ActionContext, render: FakeRender
) -> None:
    service = worker(render)
    prefixed = "\n".join(f"worker-1  | {row}" for row in CHAINED.split("\n"))
    crash_loop(
        render, service, prefixed, every=timedelta(minutes=2), count=29, last=timedelta(minutes=1)
    )
    result = await run(bare, "logs worker production")
    assert result.summary.startswith("network unreachable (errno 101)")
    top = rows(result)[0]
    assert top[6].startswith("worker.errors.WorkerStartError: could not reach the job queue (from ")
    assert (top[0], top[5]) == ("29", "every ~2m")


async def test_the_real_tracebacks_through_the_door(
    bare: ActionContext, render: FakeRender
) -> None:
    """Each real traceback, one line per entry, a minute apart in one window: each is one
    pattern keyed by its exception line and named as the folder names it."""
    service = worker(render)
    now = datetime.now(UTC)
    wanted = {}
    for n, sample in enumerate(t for t in TRACEBACKS if "lines" in t["shapes"]):
        start = now - timedelta(minutes=50 - n)
        for i, row in enumerate([*sample["text"].split("\n"), *sample.get("then", [])]):
            render.add_log(service, row, timestamp=start + timedelta(milliseconds=i), level="error")
        wanted[sample["key"]] = named(sample["diagnosis"])
    result = await run(bare, "logs worker production")
    got = {c["example"]: c["diagnosis"] for c in result.data["clusters"]}
    assert {key: got.get(key, "missing") for key in wanted} == wanted


@pytest.mark.parametrize("part", range(4))
async def test_the_wording_through_the_door(
    bare: ActionContext, render: FakeRender, part: int
) -> None:
    """A quarter of the samples per service (a result lists 50 patterns), one log line each:
    each pattern is named as its words say, the look-alikes not at all."""
    service = render.add_service(f"wording-{part}", "background_worker")["id"]
    now = datetime.now(UTC)
    chosen = SAMPLES[part::4]
    for n, sample in enumerate(chosen):
        render.add_log(service, sample["text"], timestamp=now - timedelta(minutes=30, seconds=-n))
    result = await run(bare, f"logs {service}")
    got = {c["signature"]: c["diagnosis"] for c in result.data["clusters"]}
    for sample in chosen:
        (signature,) = signatures([sample["text"]])
        assert got[signature.strip()] == named(sample["diagnosis"]), sample["text"]


# a crash loop still going is not a burst that is over


async def test_a_live_loop_over_a_day_says_it_is_still_going(
    bare: ActionContext, render: FakeRender
) -> None:
    service = worker(render)
    crash_loop(
        render,
        service,
        "\n".join(TRACEBACK),
        every=timedelta(minutes=2),
        count=21,
        last=timedelta(minutes=1),
        per_line=True,
    )
    burst = datetime.now(UTC) - timedelta(hours=6)
    for n in range(15):
        render.add_log(
            service,
            f"ERROR LlamaParse webhook failed for job {n}: 502 Bad Gateway",
            timestamp=burst + timedelta(seconds=5 * n),
        )
    result = await run(bare, "logs worker production --since 24h")
    assert "21 times in 1d, every ~2m since 41m ago (OSError" in result.summary
    by_pattern = {r[6]: r for r in rows(result)}
    assert by_pattern["OSError: [Errno 101] Network is unreachable"][5] == "every ~2m since 41m ago"
    webhook = next(r for p, r in by_pattern.items() if p.startswith("ERROR LlamaParse webhook"))
    assert (webhook[0], webhook[5]) == ("15", "in a burst")


# the db door reads the same table


async def probe_answering(code: str, message: str) -> StepResult:
    async with WireServer(ErrorAnswer(code, message)) as server:
        result = await run(db_context(server.url), "db production")
    assert isinstance(result, StepResult)
    return result


async def test_db_names_a_server_that_wants_tls() -> None:
    result = await probe_answering(
        "28000",
        'no pg_hba.conf entry for host "10.0.0.7", user "postgres", database "postgres", '
        "no encryption",
    )
    assert result.verdict is Verdict.FAIL
    assert result.summary.startswith("The server admits this client only over TLS")
    assert "sslmode=require" in result.summary


async def test_db_names_a_terminated_connection() -> None:
    result = await probe_answering("57P01", "terminating connection due to administrator command")
    assert result.summary.startswith("The database ended the connection")


# linear on what a stranger can send


ADVERSARIAL = [
    "a-",
    "Traceback (most recent call last):",
    "Traceback (most recent call last):\n",
    "The above exception was the direct cause of the following exception:\n",
    '  File "x", line 1, in f\n',
    "[SQL: ",
    "for host ",
    "no pg_hba.conf entry for host ",
    "InterfaceError: ",
    "<class '",
    "\\u003cclass '",
    'relation "',
    "QueuePool limit of size 1 overflow ",
    "cannot execute A",
    "OSError: [Errno 101] ",
    "worker-1  | ",
    "a" * 31 + ".",
]


@pytest.mark.parametrize("unit", ADVERSARIAL)
async def test_a_32_kb_adversarial_entry_costs_milliseconds(unit: str) -> None:
    text = unit * (32_768 // len(unit))
    started = time.perf_counter()
    diagnose(text)
    signatures([text])
    await triage([Line(T0, text, "error", "i"), Line(T0, text.replace("\n", " "), "", "i")])
    await triage(
        [Line(T0 + timedelta(microseconds=n), row) for n, row in enumerate(text.split("\n"))]
    )
    assert time.perf_counter() - started < 0.5, unit


async def test_twenty_thousand_traceback_lines_fold_fast() -> None:
    lines = []
    for n in range(2_000):
        at = T0 + timedelta(seconds=n)
        prefix = "2025-09-18T23:59:24.123Z " if n % 2 else ""
        lines += [
            Line(at + timedelta(microseconds=i), prefix + row, "error", f"i{n % 3}")
            for i, row in enumerate(TRACEBACK[:9])
        ]
        lines.append(Line(at + timedelta(microseconds=10), "[SQL: SELECT 1", "", f"i{n % 3}"))
    started = time.process_time()
    clusters, kept = await triage(lines)
    assert time.process_time() - started < 1.0
    assert kept >= 2_000 and len(clusters) < 10


async def test_many_tracebacks_open_at_once_stay_linear() -> None:
    """Every line is tried against the instance's open tracebacks: their number is capped."""
    heads = [f"src-{n:05d} | Traceback (most recent call last):" for n in range(20_000)]
    started = time.process_time()
    clusters, kept = await triage([Line(T0, head, "", "i") for head in heads])
    assert time.process_time() - started < 1.0
    assert kept == 20_000 and [c.example for c in clusters] == ["traceback cut off"]


async def test_a_long_line_before_a_header_is_no_prefix_to_match() -> None:
    head = "x" * 32_000 + " Traceback (most recent call last):"
    rows = [head, *(f"  line {n}" for n in range(20_000)), "ValueError: at last"]
    started = time.process_time()
    clusters, _ = await triage([Line(T0, row, "", "i") for row in rows])
    assert time.process_time() - started < 1.0
    assert [c.example for c in clusters] == ["ValueError: at last"]
