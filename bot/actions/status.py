"""`status [env]`: every service of an environment at a glance: up, suspended, crash-looping,
failed deploy, health check."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.deploys import FAILED, deploy_line, explain, reason_in
from bot.actions.params import POSITIONAL, EnvName
from bot.actions.registry import ActionContext, action
from bot.actions.targets import Target, ago, environment, now, target
from bot.integrations.http import Health
from bot.integrations.render import RenderError, parse_time
from bot.results import ServiceFinding, StepResult, Table, Verdict, worst

CRASH_WINDOW = timedelta(hours=1)
CRASH_LOOP = 2  # crashes in the window that make a crash loop, not a one-off
EVENT_WINDOW = timedelta(days=1)  # far enough back to find why the latest deploy failed
COLUMNS = ("service", "state", "health", "latest deploy", "render")
Json = dict[str, Any]


class StatusParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: Annotated[EnvName | None, POSITIONAL] = Field(None, description="environment")


@dataclass(frozen=True)
class Checked:
    """One service's state (in the words on-call uses), and what is wrong with it."""

    where: Target
    verdict: Verdict
    state: str = "unknown"
    render: str = "-"
    render_id: str = "-"
    deploy: str = "-"
    deploy_id: str = "-"
    deploy_status: str = "-"
    instances: str = "-"
    health: str = "-"
    crashes: int = 0
    problems: tuple[str, ...] = ()

    def line(self) -> str:
        if self.problems:
            state = "failing" if self.verdict.rank > Verdict.WARN.rank else "needs a look"
            return f"{self.where.name} {state}: " + "; ".join(self.problems)
        if self.health != "-":
            return f"{self.where.name} healthy ({self.health})"
        return f"{self.where.name} up ({self.deploy})"

    def row(self) -> tuple[str, ...]:
        render = f"{self.render} ({self.render_id})" if self.render_id != "-" else self.render
        return (self.where.name, self.state, self.health, self.deploy, render)

    def json(self) -> Json:
        return {
            "verdict": self.verdict.value,
            "state": self.state,
            "summary": self.line(),
            "problems": list(self.problems),
            "render": {"name": self.render, "id": self.render_id},
            "latest_deploy": {
                "id": self.deploy_id,
                "status": self.deploy_status,
                "line": self.deploy,
            },
            "instances": self.instances,
            "health": self.health,
            "crashes_last_hour": self.crashes,
        }


@action("status")
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
    # the summary says what is wrong, the table each service's state: no fact twice
    return StepResult(
        verdict=worst([c.verdict for c in checked]),
        title=title,
        summary="; ".join(c.line() for c in ordered),
        details=Table(COLUMNS, tuple(c.row() for c in ordered)),
        hints=tuple(h for c in failing for h in _next(c.where)),
        findings=tuple(ServiceFinding(c.where.name, c.verdict, c.line()) for c in ordered),
        data={"services": {c.where.name: c.json() for c in checked}},
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
    deploy = latest[0] if latest else None
    crashes = _crashes(events, at)
    suspended = service.get("suspended") == "suspended"
    failed = _deploy_problem(deploy, events, at)
    sick = bool(probe and not probe.ok)
    problems = [
        *_suspension(service),
        *failed,
        *_crash_problem(crashes, said=" ".join(failed)),
        *([f"health check: {probe.describe()}"] if probe and sick else []),
    ]
    verdict = Verdict.FAIL if problems else Verdict.OK
    if problems and suspended and len(problems) == 1:
        verdict = Verdict.WARN  # suspended on purpose is not an outage by itself
    details = service.get("serviceDetails") or {}
    return Checked(
        where,
        verdict,
        state=_state(suspended, len(crashes), bool(failed), sick),
        render=str(service.get("name", "-")),
        render_id=str(service.get("id", "-")),
        deploy=deploy_line(deploy, at) if deploy else "none",
        deploy_id=str(deploy.get("id")) if deploy else "none",
        deploy_status=str(deploy.get("status")) if deploy else "none",
        instances="0" if suspended else str(details.get("numInstances", "-")),
        health=_health_text(probe),
        crashes=len(crashes),
        problems=tuple(problems),
    )


def _state(suspended: bool, crashes: int, deploy_failed: bool, sick: bool) -> str:
    """What on-call calls it: Render only says whether a service is suspended."""
    if suspended:
        return "suspended"
    if crashes >= CRASH_LOOP:
        return "crash-looping"
    if crashes:
        return "crashed"
    if deploy_failed:
        return "deploy failed"
    return "unhealthy" if sick else "running"


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
    """The failed deploy by status and age (the table has its commit) and Render's reason."""
    if latest is None or latest.get("status") not in FAILED:
        return []
    reason = reason_in(events, latest)
    when = ago(parse_time(latest.get("finishedAt") or latest.get("createdAt")), at)
    return [f"deploy {latest.get('status')} {when}" + (f": {reason}" if reason else "")]


def _crashes(events: list[Json], at: datetime) -> list[Json]:
    """Render's server_failed events in the last hour: one per crash of an instance."""
    return [
        e
        for e in events
        if e.get("type") == "server_failed"
        and (parse_time(e.get("timestamp")) or at) >= at - CRASH_WINDOW
    ]


def _crash_problem(crashes: list[Json], said: str) -> list[str]:
    """Named as what Render counted (its server_failed events), so that a reader can tell it
    from how often the logs show the error; the reason unless the failed deploy said it."""
    if not crashes:
        return []
    why = explain((crashes[0].get("details") or {}).get("reason") or {})
    told = f" ({why})" if why and why not in said else ""
    count = f"{len(crashes)} crash" + ("es" if len(crashes) > 1 else "")
    loop = "crash-looping: " if len(crashes) >= CRASH_LOOP else ""
    return [f"{loop}Render recorded {count} (server_failed) in the last hour{told}"]


def _next(where: Target) -> list[str]:
    env = f" {where.env}" if where.env else ""
    return [
        f"{where.name}: `logs {where.name}{env} --level error` for the crash, "
        f"`deploys {where.name}{env}` for what changed, `envdiff {where.name}` for its variables."
    ]
