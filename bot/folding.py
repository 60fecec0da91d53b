"""Python tracebacks folded into one event each, keyed by the final exception line, from logs as
they come: one entry per line (Render splits on newlines) or a whole traceback in one entry,
prefixed by a timestamp or a container name or not, chained, cut short by a crash or by the
window's edge, interleaved with other instances' and other containers' lines.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

LEVELS = ("debug", "info", "warning", "error", "critical")
GAP = timedelta(seconds=3)  # a traceback's lines arrive together; a longer pause ends it
PREFIX = 120  # the longest prefix recognised: timestamps, container names, syslog tags
OPEN_AT_ONCE = 8  # per instance (containers interleaving): each line is tried against each

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
_HEADER = "Traceback (most recent call last):"
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")
_FRAME = 'File "'
_NOTES = ("[SQL: ", "[parameters: ", "(Background on this error at: ")  # SQLAlchemy's, not words
_DETAILS = ("DETAIL:  ", "HINT:  ", "CONTEXT:  ", "QUERY:  ")  # Postgres, under its message
_SQL_LINES = 200  # a `[SQL: ` never closed must not swallow what follows
# An exception line: a dotted class name, then `: message` or nothing (`asyncio.CancelledError`).
_EXCEPTION = re.compile(r"([A-Za-z_][\w.]{0,200})(?::(?= |\Z)|\Z)")
_BARE = ("Error", "Exception", "Interrupt", "Exit", "Iteration", "Group")
_LOWER = frozenset({"error", "timeout", "herror", "gaierror"})  # socket's, and Python 2's
_DIGITS = re.compile(r"\d+")


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
    said: list[str] = field(default_factory=list)  # a traceback's words, not its code
    cause: str = ""  # the first exception of a chain, when the last one is another

    def mentions(self, needle: str) -> bool:
        """Case-insensitive, over the whole traceback, not just its last line."""
        needle = needle.lower()
        return needle in self.text.lower() or any(needle in b.lower() for b in self.body)

    def words(self) -> str:
        """What to diagnose: every exception of a chain and the line logged with it, not the
        code in its frames (`except ConnectionDoesNotExistError:` is not that failure)."""
        return "\n".join(self.said) if self.said else self.text


def level_of(line: Line) -> str:
    """The level a line carries, raised when its text says worse (apps often log errors to
    stdout, which Render labels plainly)."""
    level = line.level.lower() if line.level.lower() in LEVELS else "info"
    for name, pattern in _LEVEL_WORDS:
        if LEVELS.index(name) > LEVELS.index(level) and pattern.search(line.message):
            return name
    return level


def is_exception_line(text: str) -> bool:
    """`OSError: [Errno 101] …`, `psycopg2.errors.AdminShutdown: …`, `KeyboardInterrupt`; not
    `Starting worker pid=1000`, `INFO:     Uvicorn running`, nor `worker stopped`."""
    found = _EXCEPTION.match(text)
    if found is None:
        return False
    name = found.group(1)
    last = name.rpartition(".")[2]
    if not last or name.isupper():  # INFO:, FATAL: are levels, not classes
        return False
    if last in _LOWER:
        return True
    return last[0].isupper() and (text[found.end(1) :][:1] == ":" or last.endswith(_BARE))


@dataclass
class _Open:
    """A traceback being folded: its event, the prefix its lines carry, where it stands."""

    event: Event
    prefix: str  # before `Traceback` on its first line: a timestamp, `worker-1  | `, or nothing
    last: datetime
    settled: bool = False  # a later line confirmed the prefix
    ended: bool = False  # its exception line came: only that message or a chained one may follow
    chained: bool = False  # "The above exception was…": another traceback follows
    sql: int = 0  # lines inside SQLAlchemy's `[SQL: …]`, which spans lines
    first: str = ""  # the first exception line: a chain's root cause
    frame: str = ""  # the deepest `File "…"` line, to name a traceback cut off before its end
    entry: Line | None = None  # the entry its last line came in: the rest of it belongs too
    shape: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self.shape = _shape(self.prefix)

    def content(self, raw: str) -> str | None:
        """The line without this traceback's prefix; None if it is another source's line."""
        if not self.prefix:
            return raw
        found = self.shape.match(raw)
        if found:
            self.settled = True
            return raw[found.end() :]
        if not self.settled and raw[:1].isspace():  # `…with exception: Traceback`, no prefix
            self.prefix, self.shape, self.settled = "", _shape(""), True
            return raw
        return None


@functools.lru_cache(maxsize=256)
def _shape(prefix: str) -> re.Pattern[str]:
    """What the prefix's lines share: its words and its digit runs of any width (timestamps
    differ line to line, and docker trims a timestamp's trailing zeros), then its own blanks,
    or the end of a line that is only the prefix. Anchored and without nested repetition:
    linear in the line."""
    body = prefix.rstrip(" \t")
    parts = _DIGITS.split(body)
    words = r"\d+".join(re.escape(part) for part in parts)
    blanks = prefix[len(body) :]
    return re.compile(words + (f"(?:{re.escape(blanks)}|\\Z)" if blanks else ""))


class Folder:
    """Folds tracebacks into events, per instance (instances interleave in Render's logs),
    whether they come one line per entry or whole in one entry, prefixed or not, cut short or
    not. Linear: each line is looked at a fixed number of times."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._open: dict[str, list[_Open]] = {}

    def add(self, line: Line) -> None:
        """One log entry: a line, or many (some apps write a whole traceback as one entry)."""
        opened = self._open.get(line.instance)
        if not opened and "\n" not in line.message:  # most lines: nothing to fold
            raw = line.message.rstrip()
            if raw and not raw.endswith(_HEADER) and _FRAME not in raw:
                self.events.append(Event(line.at, raw, level_of(line)))
                return
        if opened:
            for stale in [o for o in opened if line.at - o.last > GAP]:
                self._close(line.instance, stale)
        plain: list[str] = []
        for raw in line.message.split("\n"):
            self._row(line, raw.rstrip(), plain)
        if plain:
            text = "\n".join(plain)
            said = line if text == line.message else replace(line, message=text)
            self.events.append(Event(line.at, text, level_of(said)))

    def finish(self) -> list[Event]:
        """Tracebacks cut off by the window's edge still count."""
        for instance, opened in list(self._open.items()):
            for o in list(opened):
                self._close(instance, o)
        return self.events

    def _row(self, line: Line, raw: str, plain: list[str]) -> None:
        for o in self._open.get(line.instance, ()):
            content = o.content(raw)
            if content is None:
                continue  # another container's line, interleaved
            if self._feed(o, content, raw, line):
                return
            self._close(line.instance, o)  # not part of it: that traceback is over
            break
        if not raw:
            return
        if raw.endswith(_HEADER):
            self._begin(line, raw, len(raw) - len(_HEADER), plain)
            return
        at = raw.find(_FRAME)  # a window that begins inside a traceback
        if at >= 2 and raw[at - 2 : at] == "  " and '", line ' in raw[at:]:
            self._begin(line, raw, at - 2, plain).frame = raw[at:]
            return
        plain.append(raw)

    def _begin(self, line: Line, raw: str, at: int, plain: list[str]) -> _Open:
        level = "critical" if line.level.lower() == "critical" else "error"
        event = Event(line.at, _HEADER, level, body=[*plain, raw], said=_words(plain))
        plain.clear()
        prefix = raw[:at] if at <= PREFIX else ""  # longer is words before it, not a prefix
        o = _Open(event, prefix, line.at, settled=not prefix, entry=line)
        opened = self._open.setdefault(line.instance, [])
        if len(opened) >= OPEN_AT_ONCE:
            self._close(line.instance, opened[0])
        opened.append(o)
        return o

    def _feed(self, o: _Open, content: str, raw: str, line: Line) -> bool:
        """Take the line into the traceback if it belongs there."""
        text, same = content.strip(), o.entry is line
        if not o.ended:  # frames, code, carets, a chain's markers and headers, then the exception
            if not text or content[0].isspace():
                if text.startswith(_FRAME):
                    o.frame = text
                elif text.startswith("| ") and is_exception_line(text[2:]):
                    _exception(o, text[2:])  # one of an exception group's, drawn indented
                    o.ended = False
            elif content.startswith(_CHAINED):
                o.chained = True
            elif content.endswith(_HEADER):
                if not o.chained:
                    return False  # a new traceback: this one was cut off
                o.chained = False
            elif same or is_exception_line(content):
                _exception(o, text)
            else:
                return False  # cut off before its exception line
        elif content.startswith(_CHAINED):
            o.ended, o.chained = False, True
        elif text:
            kind = _continues(o, content, same)
            if kind is None:
                return False
            if kind == "words":
                o.event.said.append(text)
        o.event.body.append(raw)
        o.last, o.entry = line.at, line
        return True

    def _close(self, instance: str, o: _Open) -> None:
        opened = self._open[instance]
        opened.remove(o)
        if not opened:
            del self._open[instance]
        event = o.event
        if not o.first:
            event.text = f"traceback cut off in {o.frame}" if o.frame else "traceback cut off"
        if event.cause == event.text:
            event.cause = ""
        self.events.append(event)


def _exception(o: _Open, text: str) -> None:
    """The exception line: the event's key; the first of a chain is its cause."""
    if o.first:
        o.event.cause = o.event.cause or o.first
    else:
        o.first = text
    o.event.text = text
    o.event.said.append(text)
    o.ended = True


def _continues(o: _Open, content: str, same: bool) -> str | None:
    """After the exception line: the rest of its message (`words`), SQLAlchemy's statement and
    notes (`note`), or None when the line is not part of it. In one entry, anything is; across
    entries, only what cannot be a line of its own: indented text, Postgres' DETAIL and HINT,
    SQLAlchemy's [SQL: …] up to its closing bracket."""
    if content.endswith(_HEADER):
        return None  # the next traceback
    if o.sql or content.startswith(_NOTES):
        inside = o.sql or content.startswith(_NOTES[0])
        o.sql = o.sql + 1 if inside and not content.endswith("]") and o.sql < _SQL_LINES else 0
        return "note"
    return "words" if same or content[0].isspace() or content.startswith(_DETAILS) else None


def _words(lines: list[str]) -> list[str]:
    """The lines logged with a traceback, without SQLAlchemy's statement and parameters."""
    out, sql = [], False
    for line in lines:
        if sql or line.startswith(_NOTES):
            sql = (sql or line.startswith(_NOTES[0])) and not line.endswith("]")
            continue
        out.append(line.strip())
    return out
