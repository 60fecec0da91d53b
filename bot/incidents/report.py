"""The FRACAS report in Markdown, written from the timeline by a jinja2 template: the
built-in one (templates/fracas.md.j2, in the seed reports' structure) or the team's own,
named by the catalog's `incidents.template`. Templates run sandboxed, and an unknown name in
one is an error, not a blank; what comes out passes the redaction layer once more."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from bot.errors import FracasError
from bot.incidents.analysis import Analysis, analyse
from bot.incidents.model import Entry, Incident, Kind
from bot.redact import Redactor
from bot.results import Verdict

BUILTIN = Path(__file__).with_name("templates") / "fracas.md.j2"
SLACK_REF = re.compile(r"<([@#!])([A-Z0-9^]{2,40})(?:\|([^>]{0,80}))?>")
SLACK_LINK = re.compile(r"<(https?://[^|>\s]{1,2000})\|([^>]{0,200})>")
MARKS = {
    Verdict.OK: "✔ ok",
    Verdict.INFO: "· info",
    Verdict.SKIP: "· skipped",
    Verdict.WARN: "! warn",
    Verdict.FAIL: "✖ fail",
    Verdict.ERROR: "✖ error",
}


def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        plain=plain, cell=cell, utc=utc, clock=clock, span=span, mark=mark, what=what
    )
    return env


def write(
    incident: Incident,
    timeline: list[Entry],
    redactor: Redactor,
    template: Path | None = None,
    now: float | None = None,
) -> str:
    """The report as Markdown. A template that fails names its file and line."""
    source = (template or BUILTIN).read_text(encoding="utf-8")
    facts = analyse(incident, timeline)
    try:
        compiled = environment().from_string(source)
        text = compiled.render(
            a=facts, incident=incident, written=utc(time.time() if now is None else now)
        )
    except TemplateError as exc:
        raise FracasError(
            f"The report template {template or BUILTIN} failed: {_where(exc)}",
            "`fracas check` tests the catalog's template.",
        ) from None
    return redactor.text(text)


def check(template: Path) -> str | None:
    """Why `template` cannot write a report (syntax, an unknown name), or None: it is
    rendered against a made-up incident with every kind of entry."""
    try:
        write(*sample(), Redactor(), template)
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot be read ({exc.__class__.__name__}: {exc})"
    except FracasError as exc:
        return exc.message.split(" failed: ", 1)[-1]
    return None


def _where(exc: TemplateError) -> str:
    """`line 2: 'x' has no attribute 'y'`: a syntax error knows its line; an error while
    rendering is found in the traceback, where jinja2 puts the template's own lines."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"line {line}: {exc.message}" if line else str(exc.message or exc)


def sample() -> tuple[Incident, list[Entry]]:
    """A resolved incident with one of each entry, for checking templates."""
    start = 1_700_000_000.0
    incident = Incident(
        number=1,
        prefix="FM",
        title="Sample",
        severity="P1",
        status="resolved",
        opened_by="U0SAMPLE",
        started_at=start,
        env="production",
        lead="<@U0SAMPLE>",
        resolved_at=start + 3600,
    )
    entries = [
        Entry(Kind.PIN, start - 60, "alert fired", "pin", "Alertmanager", by_integration=True),
        Entry(Kind.OPENED, start, "opened", "opened", "<@U0SAMPLE>"),
        Entry(
            Kind.COMMAND,
            start + 60,
            "a cause",
            "c",
            "<@U0SAMPLE>",
            Verdict.FAIL,
            lines=("a cause",),
            command="run worker-down production",
        ),
        Entry(
            Kind.FINDING,
            start + 60,
            "Step: failed",
            "c:step:0",
            "fracas",
            Verdict.FAIL,
            lines=("fact: value",),
            command="logs worker production",
        ),
        Entry(Kind.NOTE, start + 120, "the cause", "n1", "<@U0SAMPLE>", tag="cause"),
        Entry(Kind.NOTE, start + 180, "an action", "n2", "<@U0SAMPLE>", tag="action"),
        Entry(Kind.NOTE, start + 240, "a prevention", "n3", "<@U0SAMPLE>", tag="prevent"),
        Entry(Kind.STATUS, start + 3600, "monitoring → resolved", "s", "<@U0SAMPLE>"),
    ]
    return incident, entries


# filters


def plain(text: object) -> str:
    """Slack's markup as a document reads it: `<@U1|ann>` as @ann, `<#C1>` as #C1."""

    def ref(found: re.Match[str]) -> str:
        sigil, name, label = found.groups()
        return f"{'@' if sigil == '@' else '#' if sigil == '#' else '@'}{label or name}"

    value = SLACK_LINK.sub(lambda m: f"[{m.group(2)}]({m.group(1)})", str(text or ""))
    return SLACK_REF.sub(ref, value)


def cell(text: object) -> str:
    """A table cell: one line, no column breaks."""
    return " ".join(plain(text).split()).replace("|", "\\|")


def utc(at: float | None) -> str:
    if at is None:
        return "-"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S")


def span(value: timedelta | None) -> str:
    """`1 h 12 min`, `4 min`, `40 s`; `not reached` when the timeline has no such moment."""
    if value is None:
        return "not reached"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def mark(verdict: Verdict | None) -> str:
    return MARKS.get(verdict, "") if verdict else ""


def what(entry: Entry) -> str:
    """How the timeline table names an entry's kind."""
    if entry.kind is Kind.NOTE and entry.tag:
        return {"cause": "root cause", "action": "action", "prevent": "prevention"}.get(
            entry.tag, entry.tag
        )
    if entry.kind is Kind.PIN:
        return "alert (pinned)" if entry.by_integration else "pinned"
    return entry.kind.value


__all__ = ["Analysis", "check", "write"]
