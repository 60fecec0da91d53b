"""What an incident is and what its timeline holds: typed values every door and the report
share. Text in them has passed the redaction layer (the repository applies it on the way in)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

from bot.results import Verdict

Severity = Literal["P0", "P1", "P2"]
Status = Literal["investigating", "identified", "monitoring", "resolved"]
Tag = Literal["cause", "action", "prevent", "impact"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
STATUSES: tuple[Status, ...] = get_args(Status)
TAGS: tuple[Tag, ...] = get_args(Tag)


class Kind(StrEnum):
    """What put an entry on the timeline."""

    OPENED = "opened"
    STATUS = "status"
    LEAD = "lead"
    SEVERITY = "severity"
    NOTE = "note"
    PIN = "pin"
    COMMAND = "command"  # a fracas command run in the incident's channel
    FINDING = "finding"  # one step of a runbook that command ran
    ALERT = "alert"


@dataclass(frozen=True)
class Incident:
    """One incident. `channel` is where it lives: its own, when fracas made one, else the
    channel it was opened in (`channel_note` says why); None at a terminal. The ts fields
    remember the Slack side effects already done, so a job run again after a crash does none
    of them twice."""

    number: int
    prefix: str
    title: str
    severity: Severity
    status: Status
    opened_by: str
    started_at: float
    env: str | None = None
    lead: str | None = None
    channel: str | None = None
    channel_note: str = ""  # why it lives in the channel it was opened in, when it does
    header_ts: str | None = None
    announce_ts: str | None = None
    report_file: str | None = None
    resolved_at: float | None = None

    @property
    def id(self) -> str:
        return f"{self.prefix}-{self.number}"

    @property
    def own_channel(self) -> bool:
        """fracas made its channel (it lives elsewhere only with a reason: `channel_note`)."""
        return self.channel is not None and not self.channel_note

    @property
    def open(self) -> bool:
        return self.status != "resolved"


@dataclass(frozen=True)
class Entry:
    """One line of the timeline, at the time it happened (a pinned message: when it was
    posted, not when it was pinned). `key` makes recording it idempotent: the same event
    twice (a retry, another replica, a job run again) is one entry. `lines` is the evidence
    of a finding, or a runbook's likely causes on its command entry."""

    kind: Kind
    at: float
    text: str
    key: str
    author: str = ""
    verdict: Verdict | None = None
    link: str | None = None
    tag: Tag | None = None
    lines: tuple[str, ...] = ()
    command: str = ""
    by_integration: bool = False  # a pinned message an integration (an alert) posted


def parse_ref(text: str) -> tuple[str, int] | None:
    """`FM-31` (any case, `fm31`, `#fm-31`) as (prefix, number); None if it is not one."""
    word = text.strip().lstrip("#").upper()
    head = word.rstrip("0123456789")
    digits = word[len(head) :]
    prefix = head.rstrip("-")
    if not digits or not prefix.isalpha() or len(digits) > 9 or len(prefix) > 10:
        return None
    return prefix, int(digits)
