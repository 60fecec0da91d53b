"""What makes a difference between two services' variables dangerous, in words an on-call
engineer can act on (incidents.md: missing variables, the IPv6-only host, PORT, projects)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.actions.targets import Target
from bot.integrations.supabase import DbUrl, parse_db_url, project_of_api
from bot.results import Verdict

RENDER_PORT = "10000"  # Render's default PORT for web services (reference §8)


@dataclass(frozen=True)
class Side:
    """One of the two services compared: where it is, what Render says of it, its variables."""

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
    """A difference that matters, with what to do about it."""

    verdict: Verdict
    message: str
    hint: str = ""


def findings(a: Side, b: Side, required: list[str]) -> list[Finding]:
    """Every rule, both ways round: either side can be the broken one."""
    return [
        *_required(a, b, required),
        *_required(b, a, required),
        *_ports(a, b),
        *_databases(a, b),
        *_projects(a, b),
    ]


def _required(side: Side, other: Side, required: list[str]) -> list[Finding]:
    missing = [k for k in required if k not in side.vars]
    empty = [k for k in required if k in side.vars and not side.vars[k].strip()]
    found = []
    if missing:
        there = [k for k in missing if other.vars.get(k, "").strip()]
        source = f" ({other.label} has {names(there)})" if there else ""
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
            like = ""
            if theirs is not None and theirs[1].pooler:
                like = f" like {other.label} ({theirs[1].host}:{theirs[1].port})"
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


def names(keys: list[str]) -> str:
    return f"{len(keys)}: {', '.join(keys)}" if keys else "0"
