"""Render's log store and `/logs` pages (reference/render-api.md §6): lines of all services in
time order, served in time windows whose next-page bounds read every line exactly once."""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from .render_shapes import Json, rfc3339, utc

MICROSECOND = timedelta(microseconds=1)
LOG_LABELS = ("level", "type", "instance")


@dataclass(frozen=True)
class LogLine:
    at: datetime
    resource: str
    instance: str
    level: str
    type: str
    message: str

    def labels(self) -> dict[str, str]:
        return {
            "resource": self.resource,
            "instance": self.instance,
            "level": self.level,
            "type": self.type,
        }

    def matches(self, wanted: dict[str, list[str]], texts: list[str]) -> bool:
        labels = self.labels()
        if any(values and labels[name] not in values for name, values in wanted.items()):
            return False
        return not texts or any(t in self.message.lower() for t in texts)

    def json(self) -> Json:
        stamp = rfc3339(self.at)
        digest = hashlib.sha256(f"{stamp} {self.message}".encode()).hexdigest()[:8]
        return {
            "id": f"{self.instance}-{stamp}-{digest}",
            "message": self.message,
            "timestamp": stamp,
            "labels": [{"name": k, "value": v} for k, v in self.labels().items()],
        }


class LogBook:
    """All services' lines, oldest first, timestamps unique so exclusive time bounds never
    split or repeat a line."""

    def __init__(self) -> None:
        self._lines: list[LogLine] = []
        self._times: set[datetime] = set()

    def add(
        self, at: datetime, resource: str, instance: str, level: str, type: str, message: str
    ) -> None:
        """Store one line, its timestamp bumped by 1 µs while another line has it."""
        at = utc(at)
        while at in self._times:
            at += MICROSECOND
        self._times.add(at)
        bisect.insort(
            self._lines, LogLine(at, resource, instance, level, type, message), key=lambda e: e.at
        )

    def page(
        self,
        start: datetime,
        end: datetime,
        *,
        resources: set[str],
        wanted: dict[str, list[str]],
        texts: list[str],
        limit: int,
        forward: bool,
    ) -> Json:
        """One page of `/logs` in [start, end); the next window holds exactly the rest."""
        first = bisect.bisect_left(self._lines, start, key=lambda e: e.at)
        last = bisect.bisect_left(self._lines, end, key=lambda e: e.at)
        entries = [
            e
            for e in self._lines[first:last]
            if e.resource in resources and e.matches(wanted, texts)
        ]
        page = entries[:limit] if forward else entries[::-1][:limit]
        more = len(entries) > limit
        body: Json = {"hasMore": more, "nextStartTime": None, "nextEndTime": None}
        if more:
            edge = page[-1].at
            start, end = (edge + MICROSECOND, end) if forward else (start, edge)
            body |= {"nextStartTime": rfc3339(start), "nextEndTime": rfc3339(end)}
        return body | {"logs": [e.json() for e in page]}
