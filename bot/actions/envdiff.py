"""`envdiff <service> [envA envB]`: what differs between two services' variables, and which
differences break things; secret values appear only as fingerprints."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.params import POSITIONAL, EnvName, EnvOrServiceId, ServiceName
from bot.actions.registry import ActionContext, action
from bot.actions.targets import Target, environment, target
from bot.errors import UsageError
from bot.integrations.supabase import DbUrl, parse_db_url, project_of_api
from bot.redact import is_secret
from bot.results import StepResult, Table, Verdict, worst

VALUE_CHARS = 48
RENDER_PORT = "10000"  # Render's default PORT for web services (reference §8)
GROUPS_NOTE = "Render's API lists variables set on the service itself, not environment groups."


class EnvdiffParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: Annotated[ServiceName, POSITIONAL] = Field(description="service name or srv- id")
    env_a: Annotated[EnvOrServiceId | None, POSITIONAL] = Field(
        None, description="first environment (or a second srv- id)"
    )
    env_b: Annotated[EnvName | None, POSITIONAL] = Field(None, description="second environment")


@dataclass(frozen=True)
class Side:
    target: Target
    service: dict[str, Any]
    vars: dict[str, str]

    @property
    def label(self) -> str:
        return self.target.env or self.service["name"]

    def database(self) -> tuple[str, DbUrl] | None:
        """DATABASE_URL, else the first Postgres URL among the variables."""
        urls = [(k, parse_db_url(v)) for k, v in self.vars.items()]
        found = [(k, u) for k, u in urls if u is not None and u.scheme.startswith("postgres")]
        found.sort(key=lambda item: item[0] != "DATABASE_URL")
        return found[0] if found else None


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    message: str
    hint: str = ""


@action("envdiff", EnvdiffParams)
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
    findings = [
        *_required(a, b, required),
        *_required(b, a, required),
        *_ports(a, b),
        *_databases(a, b),
        *_projects(a, b),
    ]
    if (only_a or only_b) and not any(f.verdict is Verdict.FAIL for f in findings):
        findings.append(Finding(Verdict.WARN, _only_text(a, b, only_a, only_b)))
    rows = [
        *((k, _show(ctx, k, a.vars[k]), "-", f"only in {a.label}") for k in only_a),
        *((k, "-", _show(ctx, k, b.vars[k]), f"only in {b.label}") for k in only_b),
        *(
            (k, _show(ctx, k, a.vars[k]), _show(ctx, k, b.vars[k]), _how(ctx, a, b, k))
            for k in differ
        ),
    ]
    problems = [f for f in findings if f.verdict.failed]
    return StepResult(
        verdict=worst([f.verdict for f in findings]) if findings else Verdict.OK,
        title=f"Variables of {first.name}: {a.label} vs {b.label}",
        summary="; ".join(f.message for f in problems[:3])
        or _counts(a, b, only_a, only_b, differ, same),
        facts=(
            ("compared", f"{_named(a)} vs {_named(b)}"),
            (f"only in {a.label}", _names(only_a)),
            (f"only in {b.label}", _names(only_b)),
            ("different", _names(differ)),
            ("same", f"{len(same)}"),
        ),
        details=Table(("variable", a.label, b.label, "difference"), tuple(rows)),
        hints=(*dict.fromkeys(f.hint for f in findings if f.hint), *_notes(findings), GROUPS_NOTE),
        data={
            "only_a": only_a,
            "only_b": only_b,
            "different": differ,
            "same": len(same),
            "findings": [{"verdict": f.verdict.value, "message": f.message} for f in findings],
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
    names = ctx.catalog.env_names
    preferred = sorted(names, key=lambda n: (n != "staging", n != "production"))
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
            f"Name two different environments (known: {', '.join(names)}).",
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
    if url_a is None or url_b is None:
        return "differs" + " (secret)" * is_secret(key, a.vars[key])
    pa, pb = url_a.parts(), url_b.parts()
    changed = [
        f"{part} {pa[part] or '-'} → {pb[part] or '-'}" for part in pa if pa[part] != pb[part]
    ]
    if _password(ctx, a.vars[key]) != _password(ctx, b.vars[key]):
        changed.append("password differs")
    return "; ".join(changed) or "differs (query options)"


def _password(ctx: ActionContext, value: str) -> str:
    return ctx.redactor.fingerprint(urlsplit(value).password or "")


def _required(side: Side, other: Side, required: list[str]) -> list[Finding]:
    missing = [k for k in required if k not in side.vars]
    empty = [k for k in required if k in side.vars and not side.vars[k].strip()]
    found = []
    if missing:
        there = [k for k in missing if other.vars.get(k, "").strip()]
        source = f" ({other.label} has {_names(there)})" if there else ""
        found.append(
            Finding(
                Verdict.FAIL,
                f"{side.label} lacks {len(missing)} required variable{'s' * (len(missing) > 1)}: "
                f"{', '.join(missing)}",
                f"Set them on {side.service['name']}{source}, then redeploy.",
            )
        )
    if empty:
        found.append(Finding(Verdict.FAIL, f"{side.label} has required {', '.join(empty)} empty"))
    return found


def _ports(a: Side, b: Side) -> list[Finding]:
    found = []
    if a.vars.get("PORT") != b.vars.get("PORT"):
        found.append(
            Finding(
                Verdict.WARN,
                f"PORT differs: {a.label} {a.vars.get('PORT', 'unset')}, "
                f"{b.label} {b.vars.get('PORT', 'unset')}",
            )
        )
    for side in (a, b):
        if side.service.get("type") != "web_service":
            continue
        port = side.vars.get("PORT", RENDER_PORT)
        details = side.service.get("serviceDetails") or {}
        opened = [str(p.get("port")) for p in details.get("openPorts") or []]
        if opened and port not in opened:
            found.append(
                Finding(
                    Verdict.WARN,
                    f"{side.label}: Render detected port {', '.join(opened)} but PORT is {port}",
                    "Bind 0.0.0.0:$PORT (uvicorn --host 0.0.0.0 --port $PORT), so the port "
                    "Render routes and health-checks is the one the app listens on.",
                )
            )
    return found


def _databases(a: Side, b: Side) -> list[Finding]:
    found = []
    for side, other in ((a, b), (b, a)):
        db = side.database()
        if db is None:
            continue
        key, url = db
        theirs = other.database()
        if url.direct:
            like = f" like {other.label} ({theirs[1].host}:{theirs[1].port})" * bool(
                theirs and theirs[1].pooler
            )
            found.append(
                Finding(
                    Verdict.FAIL,
                    f"{side.label} {key} is Supabase's direct host {url.host}, which has only "
                    "an IPv6 address; Render cannot reach IPv6",
                    f"Use the Supavisor pooler{like}: user postgres.{url.project}, host "
                    "aws-0-<region>.pooler.supabase.com, port 5432 (or the Supabase IPv4 add-on).",
                )
            )
        elif url.transaction_mode:
            found.append(
                Finding(
                    Verdict.INFO,
                    f"{side.label} {key} uses the transaction pooler (port 6543): prepared "
                    "statements must be off (asyncpg statement_cache_size=0)",
                )
            )
    return found


def _projects(a: Side, b: Side) -> list[Finding]:
    found = []
    refs = {}
    for side in (a, b):
        db = side.database()
        db_ref = db[1].project if db else None
        api_ref = project_of_api(side.vars.get("SUPABASE_URL", ""))
        if db_ref and api_ref and db_ref != api_ref:
            found.append(
                Finding(
                    Verdict.FAIL,
                    f"{side.label} DATABASE_URL is Supabase project {db_ref} but SUPABASE_URL is "
                    f"project {api_ref}",
                    "Both must be the same project: copy them from one project's settings.",
                )
            )
        refs[side.label] = {r for r in (db_ref, api_ref) if r}
    shared = refs[a.label] & refs[b.label]
    if shared and a.target.env and b.target.env:
        found.append(
            Finding(
                Verdict.FAIL,
                f"{b.label} points at the same Supabase project as {a.label} "
                f"({', '.join(sorted(shared))})",
                f"Give {b.label} its own project's DATABASE_URL and SUPABASE_URL.",
            )
        )
    return found


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


def _names(keys: list[str]) -> str:
    return f"{len(keys)}: {', '.join(keys)}" if keys else "0"
