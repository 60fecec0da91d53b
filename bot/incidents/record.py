"""What a fracas command run during an incident puts on its timeline, without anyone asking:
the command with its verdict and its one-line cause (the link to its message follows once it is
posted); a runbook's steps,
each with its verdict and evidence. Keys come from the command's own key, so recording the
same run twice (a job run again, another replica) adds nothing."""

from __future__ import annotations

from bot.incidents.desk import living_in, only_open
from bot.incidents.model import Entry, Incident, Kind
from bot.incidents.repository import Incidents
from bot.incidents.room import Origin
from bot.results import Report, Result, StepResult, Verdict

EVIDENCE = 6  # facts kept per finding: the report's evidence summary, not the whole output


def entries_of(result: Result, *, key: str, command: str, author: str, at: float) -> list[Entry]:
    """The command's entry (a runbook's with its likely causes), then one per runbook step."""
    steps: tuple[StepResult, ...] = ()
    if isinstance(result, Report):
        lines = result.causes + tuple(f"also noticed: {line}" for line in result.noticed)
        steps = result.steps
    else:
        lines = evidence(result)
    head = Entry(
        Kind.COMMAND,
        at,
        result.summary,
        key,
        author,
        result.verdict,
        lines=lines,
        command=command,
    )
    return [head] + [
        Entry(
            Kind.FINDING,
            at,
            f"{step.title}: {step.summary}",
            f"{key}:step:{index}",
            "fracas",
            step.verdict,
            lines=evidence(step),
            command=step.command,
        )
        for index, step in enumerate(steps)
    ]


def failure_entry(message: str, *, key: str, command: str, author: str, at: float) -> Entry:
    """A command that ran and failed (a dependency down, a timeout) is on the timeline too."""
    return Entry(Kind.COMMAND, at, message, key, author, Verdict.ERROR, command=command)


def evidence(step: StepResult) -> tuple[str, ...]:
    return tuple(f"{name}: {value}" for name, value in step.facts[:EVIDENCE])


async def target(incidents: Incidents, origin: Origin, lobby: str | None = None) -> Incident | None:
    """The open incident a command run from `origin` belongs to: the one living in its
    channel (desk.living_in); at a terminal (no channel), the only open incident, if there is
    exactly one."""
    if origin.channel:
        found = await living_in(incidents, origin.channel, lobby)
        return found if found is not None and found.open else None
    return await only_open(incidents)


async def record(incidents: Incidents, incident: Incident, entries: list[Entry]) -> int:
    """Add each entry once; how many were new."""
    return sum([await incidents.add(incident, entry) for entry in entries])
