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
from bot.durations import format_duration

LEVELS = ("debug", "info", "warning", "error", "critical")
SPARK = "▁▂▃▄▅▆▇█"
BATCH = 250  # lines per step: a few ms each, so callers yield to the loop between steps

# Order matters: timestamps and UUIDs before bare numbers and hex.
_NORMALISE = [
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
    (r"\b(?=[A-Za-z_-]*\d)(?=[\w-]*[A-Za-z])[\w-]{12,}\b", "<id>"),
    (r"-?\b\d+(?:\.\d+)?", "<n>"),
    (r"[ \t]+", " "),
]
_COMPILED = [(re.compile(pattern), repl) for pattern, repl in _NORMALISE]
_LEVEL_WORDS = [
    ("critical", re.compile(r"\b(?:CRITICAL|FATAL|PANIC)\b")),
    (
        "error",
        re.compile(
            r"\b(?:ERROR|Traceback|[A-Z]\w*(?:Error|Exception))\b|"
            r"==> Timed Out|Port scan timeout|No open ports detected"
        ),
    ),
    ("warning", re.compile(r"\bWARN(?:ING)?\b")),
]
_TRACEBACK = "Traceback (most recent call last):"
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")


@dataclass(frozen=True)
class Line:
    """One log line as read: when, which instance, the level it carried, the text."""

    at: datetime
    message: str
    level: str = ""
    instance: str = ""


@dataclass
class Event:
    """A line, or a whole traceback folded into one, keyed by its final exception line."""

    at: datetime
    text: str
    level: str
    body: list[str] = field(default_factory=list)

    def mentions(self, needle: str) -> bool:
        """Case-insensitive, over the whole traceback, not just its last line."""
        needle = needle.lower()
        return needle in self.text.lower() or any(needle in b.lower() for b in self.body)


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


def level_of(line: Line) -> str:
    """The level a line carries, raised when its text says worse (apps often log errors to
    stdout, which Render labels plainly)."""
    level = line.level.lower() if line.level.lower() in LEVELS else "info"
    for name, pattern in _LEVEL_WORDS:
        if LEVELS.index(name) > LEVELS.index(level) and pattern.search(line.message):
            return name
    return level


class Folder:
    """Folds tracebacks line by line, per instance (instances interleave in Render's logs)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._open: dict[str, Event] = {}
        self._last: dict[str, Event] = {}

    def add(self, line: Line) -> None:
        text, key = line.message.rstrip(), line.instance
        if not text.strip():
            return
        current = self._open.get(key)
        if current is None and text.startswith(_CHAINED) and key in self._last:
            current = self._open[key] = self._last[key]
        if current is None:
            if text.startswith(_TRACEBACK):
                self._open[key] = Event(line.at, text, "error")
            else:
                self.events.append(Event(line.at, text, level_of(line)))
            return
        current.body.append(text)
        if text[0].isspace() or text.startswith((_TRACEBACK, *_CHAINED)):
            return
        current.text = text  # the exception line ends the traceback
        if key not in self._last or self._last[key] is not current:
            self.events.append(current)  # a chained one is in the list already
        self._last[key] = current
        del self._open[key]

    def finish(self) -> list[Event]:
        """Tracebacks cut off by the window's edge still count, keyed by their last line."""
        self.events += [e for k, e in self._open.items() if self._last.get(k) is not e]
        self._open.clear()
        return self.events


def signatures(texts: list[str]) -> list[str]:
    """Normalise a batch in a few regex passes over one joined string."""
    joined = "\n".join(t.replace("\n", " ") for t in texts)
    for pattern, repl in _COMPILED:
        joined = pattern.sub(repl, joined)
    return joined.split("\n")


def cluster(events: Iterable[Event], into: dict[str, Cluster]) -> None:
    """Add a batch of events to the clusters, keyed by signature."""
    batch = list(events)
    for event, signature in zip(batch, signatures([e.text for e in batch]), strict=True):
        found = into.get(signature)
        if found is None:
            found = into[signature] = Cluster(signature.strip(), event.text, event.level)
            found.diagnosis = diagnose(event.text)
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
    """The timing pattern in words: `every ~2m` for a crash loop, `in a burst` when it all fell
    within a tenth of the window, `started 12m ago` when it began late and kept going."""
    if len(times) < 3:
        return ""
    ordered = sorted(times)
    window = end - start
    if ordered[-1] - ordered[0] <= window / 10:
        return "in a burst"
    gaps = sorted((b - a).total_seconds() for a, b in itertools.pairwise(ordered))
    typical = gaps[len(gaps) // 2]
    steady = sum(abs(g - typical) <= typical / 4 for g in gaps) >= 0.8 * len(gaps)
    if steady and typical >= 1:
        unit = 1 if typical < 120 else 60 if typical < 7200 else 3600  # as a person rounds
        return f"every ~{format_duration(timedelta(seconds=round(typical / unit) * unit))}"
    began = end - ordered[0]
    if window - began >= window / 4:
        minutes = max(began // timedelta(minutes=1), 1)
        return f"started {format_duration(timedelta(minutes=minutes))} ago"
    return ""


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
