"""`status [env]`: every service of an environment at a glance: up, suspended, crashing, failed
deploy, health check."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.deploys import FAILED, deploy_line, explain, reason_in
from bot.actions.params import POSITIONAL, EnvName
from bot.actions.registry import ActionContext, action
from bot.actions.targets import Target, environment, now, target
from bot.integrations.http import Health
from bot.integrations.render import RenderError, parse_time
from bot.results import StepResult, Table, Verdict, worst

CRASH_WINDOW = timedelta(hours=1)
EVENT_WINDOW = timedelta(days=1)  # far enough back to find why the latest deploy failed
Json = dict[str, Any]


class StatusParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: Annotated[EnvName | None, POSITIONAL] = Field(None, description="environment")


@dataclass(frozen=True)
class Checked:
    """One service's state, and what is wrong with it in words."""

    where: Target
    verdict: Verdict
    render: str = "-"
    state: str = "-"
    deploy: str = "-"
    instances: str = "-"
    health: str = "-"
    problems: tuple[str, ...] = ()

    def line(self) -> str:
        if self.problems:
            state = "failing" if self.verdict.rank > Verdict.WARN.rank else "needs a look"
            return f"{self.where.name} {state}: " + "; ".join(self.problems)
        if self.health != "-":
            return f"{self.where.name} healthy ({self.health})"
        return f"{self.where.name} up ({self.deploy})"


@action("status", StatusParams)
async def status(ctx: ActionContext, params: StatusParams) -> StepResult:
    """Services in an environment: suspended?, latest deploy, health."""
    env = environment(ctx, params.env)
    ctx.render.require_key()
    names = list(ctx.catalog.environments[env].services)
    title = f"Status of {env}"
    if not names:
        return StepResult(Verdict.INFO, title, f"The catalog lists no services in {env}.")
    at = now()
    checked = await asyncio.gather(*(_check(ctx, target(ctx, n, env), at) for n in names))
    ordered = sorted(checked, key=lambda c: -c.verdict.rank)
    failing = [c for c in checked if c.verdict is Verdict.FAIL]
    return StepResult(
        verdict=worst([c.verdict for c in checked]),
        title=title,
        summary="; ".join(c.line() for c in ordered),
        facts=tuple((c.where.name, _fact(c)) for c in checked),
        details=Table(
            ("service", "render", "verdict", "state", "latest deploy", "instances", "health"),
            tuple(
                (c.where.name, c.render, c.verdict.value, c.state, c.deploy, c.instances, c.health)
                for c in checked
            ),
        ),
        hints=tuple(h for c in failing for h in _next(c.where)),
        data={
            "services": {
                c.where.name: {"verdict": c.verdict.value, "problems": list(c.problems)}
                for c in checked
            }
        },
    )


async def _check(ctx: ActionContext, where: Target, at: datetime) -> Checked:
    """Render's view and the health check at once; one service failing to answer does not
    hide the others."""
    health = asyncio.ensure_future(_health(ctx, where.health_url))
    try:
        service = await ctx.render.service(where.render)
        latest, events = await asyncio.gather(
            ctx.render.deploys(service["id"], most=1),
            ctx.render.events(service["id"], ["server_failed", "deploy_ended"], at - EVENT_WINDOW),
        )
    except RenderError as exc:
        probe = await health
        return Checked(where, Verdict.ERROR, health=_health_text(probe), problems=(exc.message,))
    probe = await health
    failed = _deploy_problem(latest[0] if latest else None, events, at)
    problems = [
        *_suspension(service),
        *failed,
        *_crashes(events, at, said=" ".join(failed)),
        *([f"health check: {probe.describe()}"] if probe and not probe.ok else []),
    ]
    verdict = Verdict.FAIL if problems else Verdict.OK
    if problems and service.get("suspended") == "suspended" and len(problems) == 1:
        verdict = Verdict.WARN  # suspended on purpose is not an outage by itself
    details = service.get("serviceDetails") or {}
    suspended = service.get("suspended") == "suspended"
    return Checked(
        where,
        verdict,
        render=f"{service['name']} ({service['id']})",
        state="suspended" if suspended else "running",
        deploy=deploy_line(latest[0], at) if latest else "none",
        instances="0" if suspended else str(details.get("numInstances", "-")),
        health=_health_text(probe),
        problems=tuple(problems),
    )


async def _health(ctx: ActionContext, url: str | None) -> Health | None:
    return await ctx.health.check(url) if url else None


def _health_text(probe: Health | None) -> str:
    return probe.describe() if probe else "-"


def _suspension(service: Json) -> list[str]:
    if service.get("suspended") != "suspended":
        return []
    by = ", ".join(service.get("suspenders") or []) or "no reason given"
    return [f"suspended (by {by})"]


def _deploy_problem(latest: Json | None, events: list[Json], at: datetime) -> list[str]:
    if latest is None or latest.get("status") not in FAILED:
        return []
    reason = reason_in(events, latest)
    return [f"deploy {deploy_line(latest, at)}" + (f": {reason}" if reason else "")]


def _crashes(events: list[Json], at: datetime, said: str) -> list[str]:
    """Crashes in the last hour, with their reason unless the failed deploy already said it."""
    crashes = [
        e
        for e in events
        if e.get("type") == "server_failed"
        and (parse_time(e.get("timestamp")) or at) >= at - CRASH_WINDOW
    ]
    if not crashes:
        return []
    why = explain((crashes[0].get("details") or {}).get("reason") or {})
    told = f" ({why})" if why and why not in said else ""
    return [f"crashed {len(crashes)} times in the last hour{told}"]


def _fact(c: Checked) -> str:
    if c.problems:
        return f"{c.verdict.value.upper()}: " + "; ".join(c.problems)
    return f"{c.verdict.value}: {c.state}, deploy {c.deploy}, health {c.health}"


def _next(where: Target) -> list[str]:
    env = f" {where.env}" if where.env else ""
    return [
        f"{where.name}: `logs {where.name}{env} --level error` for the crash, "
        f"`deploys {where.name}{env}` for what changed, `envdiff {where.name}` for its variables."
    ]
