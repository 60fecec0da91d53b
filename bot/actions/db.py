"""`db <env> [--service NAME]`: the connectivity diagnosis, stage by stage, ending in one line
that names the cause and the fix (IPv6-only host, pooler SCRAM, wrong password, ...)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.database import database, sentence
from bot.actions.params import POSITIONAL, EnvName, ServiceName
from bot.actions.registry import ActionContext, action
from bot.durations import Duration
from bot.integrations.postgres.probe import Probe
from bot.integrations.postgres.session import Limits
from bot.integrations.postgres.stages import probe
from bot.results import StepResult, Table, Verdict


class DbParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: Annotated[EnvName, POSITIONAL] = Field(description="environment")
    service: ServiceName | None = Field(None, description="probe this service's DATABASE_URL")
    timeout: Duration = Field(timedelta(seconds=5), description="connect timeout per stage")


@action("db")
async def db(ctx: ActionContext, params: DbParams) -> StepResult:
    """Diagnose database connectivity stage by stage."""
    source = await database(ctx, params.env, params.service)
    seconds = params.timeout.total_seconds()
    found = await probe(source.dsn, ctx.resolver, Limits(connect=seconds, statement=seconds))
    return result(found, f"Database: {source.label}")


def result(found: Probe, title: str) -> StepResult:
    """The probe as a step: the cause on top, every stage with its time below."""
    stages = Table(
        ("stage", "result", "ms", "detail"),
        tuple(
            (s.name, s.verdict.value, f"{s.ms:.1f}" if s.ms is not None else "-", s.detail)
            for s in found.stages
        ),
    )
    total = sum(s.ms for s in found.stages if s.ms is not None and s.name != "latency")
    facts: tuple[tuple[str, str], ...] = (("url", found.dsn.shown),) if found.dsn else ()
    facts += tuple(found.server.items())
    headline = found.headline
    data = {"stages": {s.name: s.verdict.value for s in found.stages}, "total_ms": round(total, 1)}
    if headline is not None:
        return StepResult(
            Verdict.FAIL,
            title,
            f"{sentence(headline.name)} {headline.hint}",
            facts=facts,
            details=stages,
            hints=tuple(found.notes),
            data={**data, "cause": headline.name},
        )
    server = found.server
    return StepResult(
        Verdict.OK,
        title,
        f"Reachable: PostgreSQL {server.get('version', '?').split()[0]} ({server.get('pooler')}), "
        f"round trip {server.get('round trip')}, every stage in {total:.0f} ms.",
        facts=facts,
        details=stages,
        hints=tuple(found.notes),
        data=data,
    )
