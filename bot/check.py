"""`fracas check`: every configuration problem at once, each saying where and what to do."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.actions.all import ACTIONS
from bot.config import Catalog, Settings, load_catalog
from bot.diagnoses import SUPAVISOR
from bot.errors import ConfigError, FracasError, Problem
from bot.incidents import report
from bot.integrations.postgres.dsn import DsnError, check_dsn
from bot.integrations.render import RenderClient, RenderError
from bot.integrations.supabase import parse_db_url
from bot.runbooks.library import BUILTIN, catalog_problems, load_library
from bot.slack.client import build_client
from bot.slack.manifest import SCOPE_NEEDS, SCOPES
from bot.store.engine import STORE_ERRORS, open_store, unreachable
from bot.store.migrate import current
from bot.yamldoc import Key, YamlDoc, load_yaml

TIMEOUT = 5
SQLITE_ON_RENDER = (
    "SQLite on Render: the disk is wiped at every deploy unless the file is on a persistent "
    "disk, and replicas cannot share it; use a Render PostgreSQL (its internal URL)"
)
DOTENV = Path(".env")  # pydantic-settings and the catalog read it from the working directory
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # as the catalog loader reads `${VAR}`


@dataclass(frozen=True)
class Finding:
    """One area checked: fine (with what was seen), its problems, or skipped (and why: the
    cause is a problem found elsewhere, not one more)."""

    area: str
    ok_detail: str = ""
    problems: tuple[Problem, ...] = ()
    skipped: str = ""
    warnings: tuple[Problem, ...] = ()  # worth knowing, but it may be fine: not counted

    @property
    def ok(self) -> bool:
        return not self.problems and not self.skipped


async def run_checks(settings: Settings) -> list[Finding]:
    """Static checks first, then Slack and Render concurrently, each bounded in time."""
    tokens = check_tokens(settings)
    catalog, loaded = check_catalog(settings)
    runbooks = check_runbooks(settings, loaded)
    report = check_report(loaded)
    remote = await asyncio.gather(
        check_store(settings), check_slack(settings), check_render(settings, loaded)
    )
    return [tokens, catalog, runbooks, report, *remote]


def check_report(catalog: Catalog | None) -> Finding:
    """The FRACAS report template: the built-in one, or the team's, which must render an
    incident (a syntax error or an unknown name found now, not after the next incident)."""
    if catalog is None:
        return Finding("report template", skipped="not checked: the catalog did not load")
    template = catalog.incidents.template
    if template is None:
        return Finding("report template", f"the built-in one ({report.BUILTIN.name})")
    problem = report.check(template)
    if problem:
        return Finding(
            "report template", problems=(Problem(f"incidents.template {template}", problem),)
        )
    return Finding("report template", f"{template} writes a report")


async def check_store(settings: Settings, environ: Mapping[str, str] = os.environ) -> Finding:
    """Where jobs are kept: reachable, migrated, and not a file Render wipes at every deploy."""
    try:
        store = open_store(settings.fracas_store_url)
    except ConfigError as exc:
        return Finding("store", problems=tuple(exc.problems))
    warnings = []
    if not store.postgres and environ.get("RENDER"):
        warnings.append(Problem("FRACAS_STORE_URL", SQLITE_ON_RENDER))
    if store.absent:
        await store.close()
        detail = f"{store.where}: a new file, made at the first `fracas serve`"
        return Finding("store", detail, warnings=tuple(warnings))
    try:
        async with asyncio.timeout(TIMEOUT):
            revision = await current(store)
    except STORE_ERRORS as exc:
        why = unreachable(exc, TIMEOUT)
        return Finding("store", problems=(Problem("FRACAS_STORE_URL", f"unreachable: {why}"),))
    finally:
        await store.close()
    state = f"at revision {revision}" if revision else "empty: `fracas migrate` sets it up"
    return Finding("store", f"{store.where}, {state}", warnings=tuple(warnings))


def check_tokens(settings: Settings) -> Finding:
    problems = []
    bot = settings.slack_bot_token
    if bot is None:
        problems.append(
            Problem(
                "SLACK_BOT_TOKEN",
                "not set: copy the Bot User OAuth Token "
                "(xoxb-…) from OAuth & Permissions after installing the app",
            )
        )
    elif not bot.get_secret_value().startswith("xoxb-"):
        problems.append(
            Problem(
                "SLACK_BOT_TOKEN",
                "does not start with xoxb-: use the bot token, "
                "not a user (xoxp-) or app (xapp-) token",
            )
        )
    if settings.socket_mode:
        app_token = settings.slack_app_token
        if app_token is not None and not app_token.get_secret_value().startswith("xapp-"):
            problems.append(
                Problem(
                    "SLACK_APP_TOKEN",
                    "does not start with xapp-: create an app-level token with connections:write",
                )
            )
    elif settings.slack_signing_secret is None:
        problems.append(
            Problem(
                "SLACK_SIGNING_SECRET",
                "not set (HTTP mode): copy it from Basic "
                "Information, or set SLACK_APP_TOKEN to use Socket Mode",
            )
        )
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
    return Finding("Slack settings", f"{mode}, tokens present", tuple(problems))


def check_catalog(settings: Settings) -> tuple[Finding, Catalog | None]:
    """The catalog's problems, and the catalog itself when it loads (Render checks its names)."""
    path = settings.fracas_catalog
    if not path.exists():
        missing = Problem(
            str(path),
            "not found: copy fracas.example.yaml there, or point FRACAS_CATALOG at your catalog",
        )
        return Finding("catalog", problems=(missing,)), None
    try:
        catalog = load_catalog(path)
    except ConfigError as exc:
        return Finding("catalog", problems=tuple(exc.problems)), None
    detail = f"{path}: {len(catalog.environments)} environments, {len(catalog.services)} services"
    problems = (*catalog.unresolved, *_database_urls(catalog, load_yaml(path)))
    return Finding("catalog", detail, problems), catalog


def _database_urls(catalog: Catalog, doc: YamlDoc) -> list[Problem]:
    """A URL asyncpg would misread, or one Render cannot reach, fails at 3 a.m.; say so now,
    at the catalog's line and the variable's (named, never shown)."""
    problems = []
    for env, spec in catalog.environments.items():
        if spec.database_url is None:
            continue
        key = ("environments", env, "database_url")
        where = doc.where(key) + _source(doc, key)
        try:
            dsn = check_dsn(spec.database_url.get_secret_value())
        except DsnError as exc:
            problems.append(Problem(where, str(exc)))
            continue
        if dsn.url.direct:
            problems.append(Problem(where, direct_host(dsn.url.host)))
    return problems


def direct_host(host: str) -> str:
    """FM-030's cause, judged by the host's name (no lookup): Supabase's direct host."""
    return (
        f"host {host} is Supabase's direct host, which has only an IPv6 address unless the "
        f"project bought the IPv4 add-on (judged by its name, not looked up), and Render has "
        f"no outbound IPv6 (incident FM-030). {SUPAVISOR}."
    )


def _source(doc: YamlDoc, key: Key) -> str:
    """` (${VAR}, set at .env:3)`: where to go and fix a value the catalog takes from a
    variable."""
    value = doc.data
    for part in key:
        value = value.get(part) if isinstance(value, dict) else None
    names = _REF.findall(value) if isinstance(value, str) else []
    if not names:
        return ""
    where = [f"${{{name}}}" + _dotenv_line(name) for name in names]
    return f" ({', '.join(where)})"


def _dotenv_line(name: str, path: Path = DOTENV) -> str:
    """`, set at .env:3` when the variable comes from the .env file (the environment wins)."""
    if name in os.environ or not path.is_file():
        return ""
    pattern = re.compile(rf"\s*(?:export\s+)?{re.escape(name)}\s*=")
    with contextlib.suppress(OSError, UnicodeDecodeError):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.match(line):
                return f", set at {path}:{number}"
    return ""


def check_runbooks(settings: Settings, catalog: Catalog | None) -> Finding:
    """Every runbook file loads, and each of its steps binds in every environment of the
    catalog (a service a step names must exist there)."""
    library = load_library(ACTIONS, settings.fracas_runbooks)
    problems = list(library.problems)
    for entry in library.loaded.values():
        problems += catalog_problems(entry, catalog, ACTIONS) if catalog else []
    extra = settings.fracas_runbooks
    adds = extra.is_dir() and extra.resolve() != BUILTIN.resolve()  # a checkout's own runbooks/
    source = f"built-in and {extra}/" if adds else "built-in"
    return Finding("runbooks", f"{len(library.loaded)} runbooks ({source})", tuple(problems))


async def check_slack(settings: Settings) -> Finding:
    if settings.slack_bot_token is None:
        return Finding("Slack API", skipped="auth.test not tried: no bot token (see above)")
    client = build_client(settings, timeout=TIMEOUT, retries=False)
    try:
        answer = await asyncio.wait_for(client.auth_test(), TIMEOUT * 2)
    except SlackApiError as exc:
        error = exc.response.get("error", exc.response.status_code)
        return Finding(
            "Slack API",
            problems=(
                Problem(
                    "auth.test",
                    f"refused: {error} (is "
                    "SLACK_BOT_TOKEN current? reinstalling the app issues a new one)",
                ),
            ),
        )
    except (SlackClientError, OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        return Finding(
            "Slack API",
            problems=(Problem("auth.test", f"cannot reach {settings.slack_api_url}: {reason}"),),
        )
    granted = {s.strip() for s in str(answer.headers.get("x-oauth-scopes", "")).split(",")}
    missing = [s for s in SCOPES if s not in granted] if granted != {""} else []
    warnings = (
        (
            Problem(
                "scopes",
                f"the app lacks {', '.join(missing)}: add them under OAuth & Permissions (or "
                "paste `fracas manifest` again) and reinstall; until then "
                + "; ".join(SCOPE_NEEDS.get(s, s) for s in missing),
            ),
        )
        if missing
        else ()
    )
    who = f"authenticated as @{answer.get('user')} in {answer.get('team')}"
    return Finding("Slack API", who, warnings=warnings)


async def check_render(settings: Settings, catalog: Catalog | None = None) -> Finding:
    """The key works, and every `render:` in the catalog names a service it can see."""
    if settings.render_api_key is None:
        return Finding(
            "Render API",
            problems=(
                Problem(
                    "RENDER_API_KEY", "not set: create an API key in Render's Account Settings"
                ),
            ),
        )
    client = RenderClient(
        settings.render_api_key.get_secret_value(),
        settings.render_api_url,
        timeout=TIMEOUT,
        budget=TIMEOUT,
        retries=1,
    )
    try:
        owners = await client.owners()
        problems = await _unknown_services(client, catalog) if catalog else []
    except FracasError as exc:
        return Finding("Render API", problems=(Problem(settings.render_api_url, str(exc)),))
    finally:
        await client.aclose()
    name = owners[0].get("name", owners[0].get("id")) if owners else "no workspace"
    count = sum(len(env.services) for env in catalog.environments.values()) if catalog else 0
    found = f"; all {count} services of the catalog found" if count else ""
    return Finding("Render API", f"reachable, workspace {name}{found}", tuple(problems))


async def _unknown_services(client: RenderClient, catalog: Catalog) -> list[Problem]:
    """Every `render:` names a service Render has, and none of those services has a database
    URL on a host Render cannot reach."""
    where = {
        f"environments.{env}.services.{name}.render": spec.render
        for env, spec_env in catalog.environments.items()
        for name, spec in spec_env.services.items()
    }
    answers = await asyncio.gather(
        *(client.service(ref) for ref in where.values()), return_exceptions=True
    )
    problems, found = [], {}
    for (key, ref), answer in zip(where.items(), answers, strict=True):
        if isinstance(answer, RenderError):
            problems.append(Problem(key, f"'{ref}': {answer.message} {answer.hint}".strip()))
        elif isinstance(answer, BaseException):
            raise answer
        else:
            found[key.removesuffix(".render")] = (ref, str(answer["id"]))
    return problems + await _service_databases(client, found)


async def _service_databases(
    client: RenderClient, services: dict[str, tuple[str, str]]
) -> list[Problem]:
    """FM-030 in a service's own variables: a database URL on Supabase's direct host."""
    answers = await asyncio.gather(
        *(client.env_vars(sid) for _, sid in services.values()), return_exceptions=True
    )
    problems = []
    for (key, (ref, _)), answer in zip(services.items(), answers, strict=True):
        if isinstance(answer, RenderError):
            problems.append(Problem(key, f"variables of '{ref}': {answer.message}"))
            continue
        if isinstance(answer, BaseException):
            raise answer
        for name, value in answer:
            url = parse_db_url(value)
            if url is not None and url.postgres and url.direct:
                problems.append(Problem(f"{key} ({ref}) {name}", direct_host(url.host)))
    return problems
