"""`fracas check`: every configuration problem at once, each saying where and what to do."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.actions.all import ACTIONS
from bot.config import Catalog, Settings, load_catalog
from bot.errors import ConfigError, FracasError, Problem
from bot.integrations.postgres.dsn import DsnError, check_dsn
from bot.integrations.render import RenderClient, RenderError
from bot.runbooks.library import catalog_problems, load_library
from bot.slack_client import build_client

TIMEOUT = 5


@dataclass(frozen=True)
class Finding:
    """One area checked: fine (with what was seen) or its problems."""

    area: str
    ok_detail: str = ""
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


async def run_checks(settings: Settings) -> list[Finding]:
    """Static checks first, then Slack and Render concurrently, each bounded in time."""
    tokens = check_tokens(settings)
    catalog, loaded = check_catalog(settings)
    runbooks = check_runbooks(settings, loaded)
    remote = await asyncio.gather(check_slack(settings), check_render(settings, loaded))
    return [tokens, catalog, runbooks, *remote]


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
    problems = (*catalog.unresolved, *_database_urls(catalog))
    return Finding("catalog", detail, problems), catalog


def _database_urls(catalog: Catalog) -> list[Problem]:
    """A URL asyncpg would misread fails at 3 a.m.; say so now (named by key, never shown)."""
    problems = []
    for env, spec in catalog.environments.items():
        try:
            check_dsn(spec.database_url.get_secret_value()) if spec.database_url else None
        except DsnError as exc:
            problems.append(Problem(f"environments.{env}.database_url", str(exc)))
    return problems


def check_runbooks(settings: Settings, catalog: Catalog | None) -> Finding:
    """Every runbook file loads, and each of its steps binds in every environment of the
    catalog (a service a step names must exist there)."""
    library = load_library(ACTIONS, settings.fracas_runbooks)
    problems = list(library.problems)
    for entry in library.loaded.values():
        problems += catalog_problems(entry, catalog, ACTIONS) if catalog else []
    extra = settings.fracas_runbooks
    source = f"built-in and {extra}/" if extra.is_dir() else "built-in"
    return Finding("runbooks", f"{len(library.loaded)} runbooks ({source})", tuple(problems))


async def check_slack(settings: Settings) -> Finding:
    if settings.slack_bot_token is None:
        return Finding("Slack API", problems=(Problem("auth.test", "skipped: no bot token"),))
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
    return Finding("Slack API", f"authenticated as @{answer.get('user')} in {answer.get('team')}")


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
    where = {
        f"environments.{env}.services.{name}.render": spec.render
        for env, spec_env in catalog.environments.items()
        for name, spec in spec_env.services.items()
    }
    answers = await asyncio.gather(
        *(client.service(ref) for ref in where.values()), return_exceptions=True
    )
    problems = []
    for (key, ref), answer in zip(where.items(), answers, strict=True):
        if isinstance(answer, RenderError):
            problems.append(Problem(key, f"'{ref}': {answer.message} {answer.hint}".strip()))
        elif isinstance(answer, BaseException):
            raise answer
    return problems
