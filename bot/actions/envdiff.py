"""`envdiff <service> [envA envB]`: what differs between two services' variables, and which
differences break things; secret values appear only as fingerprints."""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.envrules import Finding, Side, findings, names
from bot.actions.params import POSITIONAL, EnvName, EnvOrServiceId, ServiceName
from bot.actions.registry import ActionContext, action
from bot.actions.targets import Target, environment, target
from bot.errors import UsageError
from bot.integrations.postgres.dsn import DsnError, check_dsn
from bot.integrations.supabase import parse_db_url
from bot.redact import is_secret
from bot.results import StepResult, Table, Verdict, worst

VALUE_CHARS = 48
GROUPS_NOTE = "Render's API lists variables set on the service itself, not environment groups."


class EnvdiffParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: Annotated[ServiceName, POSITIONAL] = Field(description="service name or srv- id")
    env_a: Annotated[EnvOrServiceId | None, POSITIONAL] = Field(
        None, description="first environment, or a second srv- id (default staging)"
    )
    env_b: Annotated[EnvName | None, POSITIONAL] = Field(
        None, description="second environment (default production, or the one not typed)"
    )


@action("envdiff")
async def envdiff(ctx: ActionContext, params: EnvdiffParams) -> StepResult:
    """Compare a service's variables across environments; secrets as fingerprints."""
    first, second = _pair(ctx, params)
    a, b = await asyncio.gather(_side(ctx, first), _side(ctx, second))
    for side in (a, b):
        for key, value in side.vars.items():
            if is_secret(key, value):
                ctx.redactor.learn(value)
    only_a = [k for k in a.vars if k not in b.vars]
    only_b = [k for k in b.vars if k not in a.vars]
    differ = [k for k in a.vars if k in b.vars and a.vars[k] != b.vars[k]]
    same = [k for k in a.vars if k in b.vars and a.vars[k] == b.vars[k]]
    required = ctx.catalog.required_env.get(first.name, [])
    found = findings(a, b, required)
    if (only_a or only_b) and not any(f.verdict is Verdict.FAIL for f in found):
        found.append(Finding(Verdict.WARN, _only_text(a, b, only_a, only_b)))
    rows = [
        *((k, _show(ctx, k, a.vars[k]), "-", f"only in {a.label}") for k in only_a),
        *((k, "-", _show(ctx, k, b.vars[k]), f"only in {b.label}") for k in only_b),
        *(
            (k, _show(ctx, k, a.vars[k]), _show(ctx, k, b.vars[k]), _how(ctx, a, b, k))
            for k in differ
        ),
    ]
    problems = [f for f in found if f.verdict.failed]
    return StepResult(
        verdict=worst([f.verdict for f in found]) if found else Verdict.OK,
        title=f"Variables of {first.name}: {a.label} vs {b.label}",
        summary="; ".join(f.message for f in problems[:3])
        or _counts(a, b, only_a, only_b, differ, same),
        facts=(
            ("compared", f"{_named(a)} vs {_named(b)}"),
            (f"only in {a.label}", names(only_a)),
            (f"only in {b.label}", names(only_b)),
            ("different", names(differ)),
            ("same", f"{len(same)}"),
        ),
        details=Table(("variable", a.label, b.label, "difference"), tuple(rows)),
        hints=(*dict.fromkeys(f.hint for f in found if f.hint), *_notes(found), GROUPS_NOTE),
        data={
            "only_a": only_a,
            "only_b": only_b,
            "different": differ,
            "same": len(same),
            "findings": [{"verdict": f.verdict.value, "message": f.message} for f in found],
        },
    )


def _pair(ctx: ActionContext, params: EnvdiffParams) -> tuple[Target, Target]:
    """Which two services: two srv- ids, or one service in two environments."""
    if params.env_a and params.env_a.startswith(("srv-", "crn-")):
        if params.env_b:
            raise UsageError("give two srv- ids, or a service and two environments, not both.")
        return target(ctx, params.service, None), target(ctx, params.env_a, None)
    if params.service.startswith(("srv-", "crn-")):
        raise UsageError(
            "a srv- id has no environments to compare.",
            "Compare two services directly: `envdiff srv-aaa srv-bbb`.",
        )
    env_a, env_b = _envs(ctx, params.env_a, params.env_b)
    return target(ctx, params.service, env_a), target(ctx, params.service, env_b)


def _envs(ctx: ActionContext, env_a: str | None, env_b: str | None) -> tuple[str, str]:
    """Both as typed; one typed is compared with the other environment (staging first);
    none means staging vs production."""
    known = ctx.catalog.env_names
    preferred = sorted(known, key=lambda n: (n != "staging", n != "production"))
    if env_a and env_b:
        pair = (env_a, env_b)
    elif env_a:
        others = [n for n in preferred if n != env_a]
        pair = (others[0] if others else env_a, env_a)
    else:
        environment(ctx, None)
        pair = (preferred[0], preferred[1]) if len(preferred) > 1 else (preferred[0],) * 2
    if pair[0] == pair[1]:
        raise UsageError(
            f"nothing to compare '{pair[0]}' with.",
            f"Name two different environments (known: {', '.join(known)}).",
        )
    return pair


async def _side(ctx: ActionContext, where: Target) -> Side:
    service = await ctx.render.service(where.render)
    return Side(where, service, dict(await ctx.render.env_vars(service["id"])))


def _show(ctx: ActionContext, key: str, value: str) -> str:
    """In clear unless secret; a secret URL keeps everything but its password readable."""
    if not value.strip():
        return "(empty)"
    if not is_secret(key, value):
        return value if len(value) <= VALUE_CHARS else value[: VALUE_CHARS - 1] + "…"
    masked = ctx.redactor.text(value)
    if parse_db_url(value) is not None and masked != value:
        return masked
    return ctx.redactor.fingerprint(value)


def _how(ctx: ActionContext, a: Side, b: Side, key: str) -> str:
    """For URLs, which parts differ; for other secrets, only that they do."""
    url_a, url_b = parse_db_url(a.vars[key]), parse_db_url(b.vars[key])
    if url_a is None or url_b is None or not (url_a.postgres and url_b.postgres):
        return "differs" + " (secret)" * is_secret(key, a.vars[key])
    broken = [_broken(side, key) for side in (a, b)]
    if any(broken):  # parts read from a misread URL would show pieces of its password
        return "differs (secret); " + "; ".join(b for b in broken if b)
    pa, pb = url_a.parts(), url_b.parts()
    changed = [
        f"{part} {pa[part] or '-'} → {pb[part] or '-'}" for part in pa if pa[part] != pb[part]
    ]
    if _password(ctx, a.vars[key]) != _password(ctx, b.vars[key]):
        changed.append("password differs")
    return "; ".join(changed) or "differs (query options)"


def _broken(side: Side, key: str) -> str | None:
    """Why asyncpg would misread this side's URL (named by character, never by value)."""
    try:
        check_dsn(side.vars[key])
    except DsnError as exc:
        return f"{side.label}: {exc.message}"
    return None


def _password(ctx: ActionContext, value: str) -> str:
    return ctx.redactor.fingerprint(urlsplit(value).password or "")


def _notes(findings: list[Finding]) -> list[str]:
    return [f.message + "." for f in findings if f.verdict is Verdict.INFO]


def _only_text(a: Side, b: Side, only_a: list[str], only_b: list[str]) -> str:
    parts = [f"{len(only_a)} only in {a.label}"] * bool(only_a)
    parts += [f"{len(only_b)} only in {b.label}"] * bool(only_b)
    return "variables differ in presence: " + ", ".join(parts)


def _counts(a: Side, b: Side, *buckets: list[str]) -> str:
    only_a, only_b, differ, same = (len(x) for x in buckets)
    return (
        f"{only_a} only in {a.label}, {only_b} only in {b.label}, "
        f"{differ} different, {same} the same."
    )


def _named(side: Side) -> str:
    return f"{side.service['name']} ({side.service['id']})"
