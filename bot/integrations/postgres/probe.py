"""What the staged probe found: each stage with its time, the failure that stopped it, and
what is wrong even though it went on."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bot.diagnoses import Diagnosis
from bot.integrations.postgres.dsn import Dsn
from bot.results import Verdict


@dataclass(frozen=True)
class Stage:
    name: str
    verdict: Verdict
    detail: str
    ms: float | None = None


@dataclass(frozen=True)
class Dialled:
    """The address and port that answered, with the connection still open."""

    address: str
    port: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


@dataclass
class Probe:
    """What the stages found; `cause` is the failure that stopped them, `flags` what is wrong
    even though they went on."""

    dsn: Dsn | None = None
    stages: list[Stage] = field(default_factory=list)
    cause: Diagnosis | None = None
    flags: list[Diagnosis] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    server: dict[str, str] = field(default_factory=dict)

    @property
    def headline(self) -> Diagnosis | None:
        """An IPv6-only host is the cause even when the bot's own network could reach it."""
        return self.flags[0] if self.flags else self.cause

    def add(self, name: str, verdict: Verdict, detail: str, started: float | None = None) -> None:
        ms = (time.perf_counter() - started) * 1000 if started is not None else None
        self.stages.append(Stage(name, verdict, detail, ms))

    def fail(self, name: str, cause: Diagnosis, detail: str, started: float) -> Probe:
        self.cause = cause
        self.add(name, Verdict.FAIL, detail, started)
        return self
