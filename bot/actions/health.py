"""`health <service> [env] [--tries 3]`: the service's own health URL asked a few times, the way
Render's check would see it: down, flapping or slow, with the reason when there is no answer."""

from __future__ import annotations

import asyncio
import statistics
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.params import POSITIONAL, EnvName, ServiceName
from bot.actions.registry import ActionContext, action
from bot.actions.targets import target
from bot.errors import UsageError
from bot.integrations.http import Health
from bot.results import StepResult, Table, Verdict

SPACING = 0.3  # seconds between tries: apart enough to see a flapping instance
SLOW_MS = 2000  # Render fails a check after 5 s; past 2 s it is close to that


class HealthParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: Annotated[ServiceName, POSITIONAL] = Field(description="service in the catalog")
    env: Annotated[EnvName | None, POSITIONAL] = Field(None, description="environment")
    tries: int = Field(3, ge=1, le=10, description="how many times to ask")


@action("health")
async def health(ctx: ActionContext, params: HealthParams) -> StepResult:
    """Ask a service's health URL a few times: down, flapping or slow?"""
    where = target(ctx, params.service, params.env)
    if where.health_url is None:
        raise UsageError(
            f"{where.label} has no health_url in the catalog.",
            "Add `health_url: https://.../health` to the service in fracas.yaml.",
        )
    answers = await asyncio.gather(
        *(_later(ctx, where.health_url, i * SPACING) for i in range(params.tries))
    )
    good = [a for a in answers if a.ok]
    median = statistics.median(a.ms for a in answers)
    verdict, summary = _judge(where.label, answers, good, median)
    rows = tuple(
        (str(i), str(a.status or "-"), f"{a.ms:.0f}", "ok" if a.ok else a.describe())
        for i, a in enumerate(answers, 1)
    )
    return StepResult(
        verdict,
        f"Health of {where.label}",
        summary,
        facts=(("url", where.health_url), ("median", f"{median:.0f} ms")),
        details=Table(("try", "status", "ms", "result"), rows),
        hints=_hints(verdict),
        data={"ok": len(good), "tries": len(answers), "median_ms": round(median, 1)},
    )


async def _later(ctx: ActionContext, url: str, delay: float) -> Health:
    await asyncio.sleep(delay)
    return await ctx.health.check(url)


def _judge(
    label: str, answers: list[Health], good: list[Health], median: float
) -> tuple[Verdict, str]:
    first_bad = next((a for a in answers if not a.ok), None)
    if first_bad is None and median > SLOW_MS:
        return Verdict.WARN, f"{label} answers, but slowly: median {median:.0f} ms."
    if first_bad is None:
        return Verdict.OK, f"{label} healthy: {len(answers)} of {len(answers)} in {median:.0f} ms."
    if not good:
        return Verdict.FAIL, f"{label} is down: {first_bad.describe()} ({len(answers)} tries)."
    return (
        Verdict.FAIL,
        f"{label} is flapping: {len(good)} of {len(answers)} tries healthy; the others "
        f"{first_bad.describe()}.",
    )


def _hints(verdict: Verdict) -> tuple[str, ...]:
    if verdict is Verdict.OK:
        return ()
    return (
        "Render restarts an instance whose check fails for 60 s: compare with `deploys` and "
        "the `logs` around the failures (port, timeouts, the database).",
    )
