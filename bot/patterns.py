"""Turn many lines into a few patterns: normalised signatures, Python tracebacks folded into one
event, clusters with counts and a sparkline of when they happened, and named diagnoses for the
failures of incidents.md. Used for Render logs, and for job errors once the database lands.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.diagnoses import Diagnosis, diagnose
from bot.durations import format_age, format_duration
from bot.folding import LEVELS, Event, Folder, Line

SPARK = "▁▂▃▄▅▆▇█"
BATCH = 250  # lines per step: a few ms each, so callers yield to the loop between steps


def _long_id(match: re.Match[str]) -> str:
    """A token of 12+ word characters with a digit and a letter is an id; a plain long word is
    not. Decided here rather than by lookaheads, which rescan a run of `a-a-a-…` per dash."""
    token = match.group()
    core = token.strip("-")
    if len(core) < 12 or not _DIGIT.search(core) or not _LETTER.search(core):
        return token
    start = token.index(core)
    return token[:start] + "<id>" + token[start + len(core) :]


_DIGIT, _LETTER = re.compile(r"\d"), re.compile(r"[A-Za-z]")
# Order matters: timestamps and UUIDs before bare numbers and hex.
_NORMALISE: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?", "<ts>"),
    (r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b", "<time>"),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<uuid>"),
    (r"\[secret [0-9a-f]{8}\]", "<secret>"),
    (r"'[^'\n]*'", "'<v>'"),
    (r'"[^"\n]*"', '"<v>"'),
    (r"\b(?:srv|crn|dep|evt|tea|usr|dpg|red|evm|job)-[a-z0-9]+(?:-[a-z0-9]+)*\b", "<id>"),
    (r"\b0x[0-9a-fA-F]+\b", "<hex>"),
    (r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b", "<hex>"),
    (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "<ip>"),
    (r"(?<![\w-])[\w-]{12,}", _long_id),
    (r"-?\b\d+(?:\.\d+)?", "<n>"),
    (r"[ \t]+", " "),
]
_COMPILED = [(re.compile(pattern), repl) for pattern, repl in _NORMALISE]


@dataclass
class Cluster:
    signature: str
    example: str
    level: str
    times: list[datetime] = field(default_factory=list)
    diagnosis: Diagnosis | None = None

    @property
    def count(self) -> int:
        return len(self.times)

    def rank(self) -> tuple[int, int, int]:
        """Known failures first, then by level, then by how often."""
        return (self.diagnosis is not None, LEVELS.index(self.level), self.count)


def signatures(texts: list[str]) -> list[str]:
    """Normalise a batch in a few regex passes over one joined string."""
    joined = "\n".join(t.replace("\n", " ") for t in texts)
    for pattern, repl in _COMPILED:
        joined = pattern.sub(repl, joined)
    return joined.split("\n")


def cluster(events: Iterable[Event], into: dict[str, Cluster]) -> None:
    """Add a batch of events to the clusters, keyed by signature; a chained traceback also by
    the signature of its first exception, so one wrapper over two causes is two patterns."""
    batch = list(events)
    causes = [e.cause for e in batch if e.cause]
    found_signatures = signatures([e.text for e in batch] + causes)
    cause_signatures = iter(found_signatures[len(batch) :])
    for event, signature in zip(batch, found_signatures[: len(batch)], strict=True):
        key = f"{signature} <- {next(cause_signatures)}" if event.cause else signature
        found = into.get(key)
        if found is None:
            example = f"{event.text} (from {event.cause})" if event.cause else event.text
            found = into[key] = Cluster(key.strip(), example, event.level)
            found.diagnosis = diagnose(event.words())
        elif LEVELS.index(event.level) > LEVELS.index(found.level):
            found.level = event.level
        found.times.append(event.at)


def sparkline(times: list[datetime], start: datetime, end: datetime, width: int = 24) -> str:
    """When it happened, in `width` buckets across the window; `·` marks a quiet bucket."""
    span = (end - start) / width
    ordered = sorted(times)  # nearly sorted already: cheap, and bisecting beats dividing each
    edges = [bisect.bisect_left(ordered, start + span * i) for i in range(1, width)]
    counts = [b - a for a, b in itertools.pairwise([0, *edges, len(ordered)])]
    top = max(counts, default=0) or 1
    return "".join(SPARK[(n * len(SPARK) - 1) // top] if n else "·" for n in counts)


def rhythm(times: list[datetime], start: datetime, end: datetime) -> str:
    """The timing pattern in words. A crash loop: `every ~2m` when it fills the window, `every
    ~2m since 40m ago` when it began later and is still going (its last time within two of its
    gaps of the end), `every ~2m until 10m ago` once it stopped. `in a burst` when it all fell
    within a tenth of the window and is over; `started 12m ago` when it began late and keeps
    going, unevenly."""
    if len(times) < 3:
        return ""
    ordered = sorted(times)
    window = end - start
    gaps = sorted((b - a).total_seconds() for a, b in itertools.pairwise(ordered))
    typical = gaps[len(gaps) // 2]
    going = end - ordered[-1] <= timedelta(seconds=2 * max(typical, 1))
    late = ordered[0] - start > max(timedelta(seconds=2 * typical), window / 10)
    burst = ordered[-1] - ordered[0] <= window / 10
    if typical >= 1 and sum(abs(g - typical) <= typical / 4 for g in gaps) >= 0.8 * len(gaps):
        unit = 1 if typical < 120 else 60 if typical < 7200 else 3600  # as a person rounds
        every = f"every ~{format_duration(timedelta(seconds=round(typical / unit) * unit))}"
        if going:
            return f"{every} since {_ago(ordered[0], end)} ago" if late else every
        return "in a burst" if burst else f"{every} until {_ago(ordered[-1], end)} ago"
    if going and late:
        return f"started {_ago(ordered[0], end)} ago"
    return "in a burst" if burst and not going else ""


def _ago(when: datetime, end: datetime) -> str:
    return format_age(timedelta(minutes=max((end - when) // timedelta(minutes=1), 1)))


async def triage(
    lines: list[Line], keep: Callable[[Event], bool] = lambda _: True
) -> tuple[list[Cluster], int]:
    """Clusters of the kept events, best first, and how many events were kept. Works in
    batches and yields between them: 20,000 lines must not stall the loop that also serves
    Slack."""
    folder = Folder()
    for start in range(0, len(lines), BATCH):
        for line in lines[start : start + BATCH]:
            folder.add(line)
        await asyncio.sleep(0)
    events = [e for e in folder.finish() if keep(e)]
    found: dict[str, Cluster] = {}
    for start in range(0, len(events), BATCH):
        cluster(events[start : start + BATCH], found)
        await asyncio.sleep(0)
    return sorted(found.values(), key=Cluster.rank, reverse=True), len(events)
