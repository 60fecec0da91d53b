"""`deploys <service> [env]`: the latest deploys, and why the last one failed if it did."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.params import POSITIONAL, EnvName, ServiceName
from bot.actions.registry import ActionContext, action
from bot.actions.targets import Target, ago, now, target
from bot.durations import format_span
from bot.integrations.render import parse_time
from bot.results import StepResult, Table, Verdict

SHOWN = 10
FAILED = {"build_failed", "update_failed", "pre_deploy_failed"}
RUNNING = {"created", "queued", "build_in_progress", "update_in_progress", "pre_deploy_in_progress"}
Json = dict[str, Any]


class DeploysParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: Annotated[ServiceName, POSITIONAL] = Field(description="service name or srv- id")
    env: Annotated[EnvName | None, POSITIONAL] = Field(None, description="environment")


@action("deploys")
async def deploys(ctx: ActionContext, params: DeploysParams) -> StepResult:
    """A service's latest deploys: status, trigger, commit."""
    where = target(ctx, params.service, params.env)
    service = await ctx.render.service(where.render)
    items = await ctx.render.deploys(service["id"], most=SHOWN)
    at = now()
    title = f"Deploys of {where.label}"
    if not items:
        return StepResult(Verdict.INFO, title, f"{service['name']} has no deploys yet.")
    latest = items[0]
    reason = ""
    if latest.get("status") in FAILED:
        reason = await failure_reason(ctx, service["id"], latest)
    good = next((d for d in items[1:] if d.get("status") in ("live", "deactivated")), None)
    facts = [("service", f"{service['name']} ({service['id']})")]
    facts += [("last good before it", deploy_line(good, at))] if good and reason else []
    return StepResult(
        verdict=deploy_verdict(latest),
        title=title,
        summary=f"Latest: {deploy_line(latest, at)}" + (f": {reason}" if reason else ""),
        facts=tuple(facts),
        details=Table(
            ("deploy", "status", "trigger", "started", "took", "commit"),
            tuple(_row(d, at) for d in items),
        ),
        hints=tuple(failure_hint(latest, reason, where)),
        data={"deploys": [_json(d) for d in items]},
    )


def deploy_verdict(deploy: Json) -> Verdict:
    status = deploy.get("status")
    if status in FAILED:
        return Verdict.FAIL
    if status == "canceled":
        return Verdict.WARN
    return Verdict.INFO if status in RUNNING else Verdict.OK


def deploy_line(deploy: Json, at: datetime) -> str:
    """`update_failed 20m ago (new_commit, 3f2a9c1: Fix upload retries)`."""
    started = parse_time(deploy.get("finishedAt") or deploy.get("createdAt"))
    commit = _commit(deploy)
    origin = ", ".join(x for x in (deploy.get("trigger"), commit) if x)
    return f"{deploy.get('status')} {ago(started, at)}" + (f" ({origin})" if origin else "")


async def failure_reason(ctx: ActionContext, service_id: str, deploy: Json) -> str:
    """Why it failed, from the service's events: Render keeps the reason there."""
    since = (parse_time(deploy.get("createdAt")) or now()) - timedelta(minutes=1)
    events = await ctx.render.events(service_id, ["deploy_ended", "build_ended"], since)
    return reason_in(events, deploy)


def reason_in(events: list[Json], deploy: Json) -> str:
    """The failure reason of `deploy`, from the first event about it that has one to give."""
    for event in events:
        details = event.get("details") or {}
        if event.get("type") in ("deploy_ended", "build_ended") and details.get("deployId") in (
            deploy.get("id"),
            None,
        ):
            return explain(details.get("reason") or {})
    return ""


def explain(reason: Json) -> str:
    """Render's FailureReason (reference §7) in words."""
    failure = reason.get("failure", reason)
    if reason.get("buildFailed"):
        return "the build failed"
    if not isinstance(failure, dict):
        return ""
    if failure.get("oomKilled"):
        limit = failure["oomKilled"].get("memoryLimit", "")
        return f"out of memory{f' (limit {limit})' if limit else ''}"
    if failure.get("timedOutSeconds"):
        why = failure.get("timedOutReason") or "health check or port scan"
        return f"timed out after {failure['timedOutSeconds']} s ({why})"
    if failure.get("unhealthy"):
        return f"unhealthy: {failure['unhealthy']}"
    if failure.get("nonZeroExit") is not None:
        return f"the process exited with code {failure['nonZeroExit']}"
    if failure.get("earlyExit"):
        return "the process exited early"
    if failure.get("evicted"):
        return f"evicted ({failure.get('evictionReason') or 'no reason given'})"
    return ""


def failure_hint(latest: Json, reason: str, where: Target) -> list[str]:
    if latest.get("status") not in FAILED:
        return []
    command = f"logs {where.name}" + (f" {where.env}" if where.env else "")
    if "exited" in reason:
        return [f"It crashes on start: `{command} --level error` shows why."]
    return [f"`{command}` shows the deploy's output around the failure."]


def _commit(deploy: Json) -> str:
    commit = deploy.get("commit") or {}
    if commit:
        message = str(commit.get("message") or "").strip().splitlines()
        first = message[0][:60] if message else ""
        return f"{str(commit.get('id') or '')[:7]}: {first}".strip(": ")
    image = deploy.get("image") or {}
    return str(image.get("ref") or "")


def _row(deploy: Json, at: datetime) -> tuple[str, ...]:
    started = parse_time(deploy.get("startedAt") or deploy.get("createdAt"))
    finished = parse_time(deploy.get("finishedAt"))
    took = format_span(finished - started) if started and finished else "-"
    return (
        str(deploy.get("id")),
        str(deploy.get("status")),
        str(deploy.get("trigger") or "-"),
        ago(started, at),
        took,
        _commit(deploy) or "-",
    )


def _json(deploy: Json) -> Json:
    keys = ("id", "status", "trigger", "createdAt", "startedAt", "finishedAt")
    return {k: deploy.get(k) for k in keys} | {"commit": _commit(deploy)}
