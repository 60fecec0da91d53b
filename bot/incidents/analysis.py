"""What the FRACAS report says, worked out from the timeline: detection, findings, root cause,
actions, prevention, success criteria and the three times (to detect, identify, resolve).

Every figure comes from entries on the timeline, and the report names where it came from; a
cause fracas only suspects (a runbook's likely cause) is marked as such, never passed off as
the one the team settled on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.incidents.model import Entry, Incident, Kind
from bot.results import Verdict

FOUND = 160  # what a success criterion quotes of the finding it answers


@dataclass(frozen=True)
class Criterion:
    """A success criterion, ticked when the timeline shows it met."""

    text: str
    met: bool


@dataclass(frozen=True)
class Run:
    """One fracas command run during the incident, with its runbook steps."""

    entry: Entry
    steps: tuple[Entry, ...]


@dataclass(frozen=True)
class Analysis:
    incident: Incident
    timeline: tuple[Entry, ...]
    first_sign: Entry | None
    detection: Entry | None  # the first alert (or pinned alert message); None: people noticed
    detected_at: float
    identified_at: float | None
    runs: tuple[Run, ...]
    causes: tuple[str, ...]  # the team's `cause:` notes
    likely: tuple[str, ...]  # runbooks' likely causes, shown when no cause was noted
    actions: tuple[str, ...]
    prevention: tuple[str, ...]
    impact: tuple[str, ...]
    criteria: tuple[Criterion, ...]

    @property
    def to_detect(self) -> timedelta | None:
        if self.first_sign is None:
            return None
        return timedelta(seconds=max(self.detected_at - self.first_sign.at, 0))

    @property
    def to_identify(self) -> timedelta | None:
        if self.identified_at is None:
            return None
        return timedelta(seconds=max(self.identified_at - self.detected_at, 0))

    @property
    def to_resolve(self) -> timedelta | None:
        if self.incident.resolved_at is None:
            return None
        return timedelta(seconds=max(self.incident.resolved_at - self.detected_at, 0))


def analyse(incident: Incident, timeline: list[Entry]) -> Analysis:
    entries = tuple(sorted(timeline, key=lambda e: e.at))
    detection = next((e for e in entries if _alerting(e)), None)
    detected_at = detection.at if detection else incident.started_at
    first = min(entries, key=lambda e: e.at, default=None)
    notes = {
        tag: tuple(e.text for e in entries if e.kind is Kind.NOTE and e.tag == tag)
        for tag in ("cause", "action", "prevent", "impact")
    }
    identified = [
        e.at
        for e in entries
        if (e.kind is Kind.NOTE and e.tag == "cause")
        or (e.kind is Kind.STATUS and "→ identified" in e.text)
    ]
    runs = _runs(entries)
    likely = tuple(
        dict.fromkeys(
            line
            for run in runs
            for line in run.entry.lines
            if run.steps and not line.startswith("also noticed:")
        )
    )
    return Analysis(
        incident=incident,
        timeline=entries,
        first_sign=first,
        detection=detection,
        detected_at=detected_at,
        identified_at=min(identified, default=None),
        runs=runs,
        causes=notes["cause"],
        likely=likely,
        actions=notes["action"],
        prevention=notes["prevent"],
        impact=notes["impact"],
        criteria=_criteria(incident, runs),
    )


def _alerting(entry: Entry) -> bool:
    return entry.kind is Kind.ALERT or (entry.kind is Kind.PIN and entry.by_integration)


def _runs(entries: tuple[Entry, ...]) -> tuple[Run, ...]:
    """Each command entry with the runbook steps recorded under its key."""
    steps: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.kind is Kind.FINDING:
            steps.setdefault(entry.key.rsplit(":step:", 1)[0], []).append(entry)
    return tuple(Run(e, tuple(steps.get(e.key, ()))) for e in entries if e.kind is Kind.COMMAND)


def _criteria(incident: Incident, runs: tuple[Run, ...]) -> tuple[Criterion, ...]:
    """Each check that failed must pass again, ticked when a later run of the same command
    passed; and the incident resolved."""
    found: dict[str, Criterion] = {}
    for index, run in enumerate(runs):
        checks = run.steps or (run.entry,)
        for step in checks:
            if step.verdict is None or not step.verdict.failed or not step.command:
                continue
            later = [
                s
                for r in runs[index + 1 :]
                for s in (r.steps or (r.entry,))
                if s.command == step.command
            ]
            met = bool(later) and later[-1].verdict in (Verdict.OK, Verdict.INFO)
            found[step.command] = Criterion(f"`{step.command}` passes (it found: {step.text})", met)
    resolved = Criterion("The incident is resolved", incident.status == "resolved")
    return (*found.values(), resolved)
