"""One place that turns settings into the objects every door shares (no module-level state)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from bot.actions.all import ACTIONS
from bot.actions.registry import Action, ActionContext
from bot.commands import normalize
from bot.config import Catalog, Settings, load_catalog
from bot.errors import FracasError
from bot.incidents.repository import Incidents
from bot.integrations.postgres.dsn import holds_secret
from bot.integrations.render import RenderClient
from bot.redact import Redactor, redact_logs
from bot.runbooks.library import load_library
from bot.store.engine import STORE_ERRORS, open_store, unreachable
from bot.store.jobs import Jobs
from bot.store.sealed import Sealer

log = logging.getLogger(__name__)
ENQUEUE_SECONDS = 2.0  # inside Slack's 3 s for the ack


@dataclass
class Deps:
    """What the web process shares: settings, the action context, the job queue, and how to
    wake this process's own workers after an enqueue (the supervisor sets it)."""

    settings: Settings
    ctx: ActionContext
    jobs: Jobs
    nudge: Callable[[], None] = lambda: None

    @functools.cached_property
    def sealer(self) -> Sealer:
        token = self.settings.slack_bot_token
        return Sealer(token.get_secret_value() if token else None)

    def sealed(self, typed: str, shown: str) -> str:
        """What was typed, sealed, if redacting it made `shown` (the Invocation's text) differ:
        it holds a secret, and the store keeps only the redacted form in clear. Else ""."""
        return self.sealer.seal(typed) if shown != normalize(typed) else ""

    async def enqueue(self, kind: str, order: BaseModel, key: str, user: str, summary: str) -> bool:
        """The job is in the store when this returns (before Slack's ack); False if a job
        with this key exists already (a retry, or another replica took it). A store that is
        down or slow is a FracasError within ENQUEUE_SECONDS, so Slack still hears back."""
        try:
            async with asyncio.timeout(ENQUEUE_SECONDS):
                added = await self.jobs.enqueue(
                    kind, order, key, requested_by=user, summary=summary
                )
        except STORE_ERRORS as exc:
            why = unreachable(exc, ENQUEUE_SECONDS)
            log.error("could not store a %s job: %s", kind, why)
            raise FracasError(
                f"Could not queue `{summary}`: the store is unreachable ({why}). Nothing ran.",
                "Try again in a minute; `/healthz` and `fracas check` name the store's problem.",
            ) from None
        if added:
            self.nudge()
        return added


def read_catalog(settings: Settings, environ: Mapping[str, str] | None = None) -> Catalog:
    """The catalog, or an empty one when the file does not exist (help and the console still
    work); a catalog that exists but is wrong raises ConfigError with every problem. `${VAR}`
    comes from `environ` if given (the sandbox's own), else from .env and the process."""
    path = settings.fracas_catalog
    if not path.exists():
        log.warning(
            "no catalog at %s: services and environments are unknown until it exists "
            "(start from fracas.example.yaml)",
            path,
        )
        return Catalog()
    catalog = load_catalog(path, environ)
    for problem in catalog.unresolved:
        log.warning("%s", problem)
    return catalog


def build_context(
    settings: Settings,
    actions: Mapping[str, Action] = ACTIONS,
    environ: Mapping[str, str] | None = None,
) -> ActionContext:
    """The catalog and the clients; secrets the catalog holds are masked from the start, in
    results and in our own log."""
    key = settings.fracas_fingerprint_key
    redactor = Redactor(key.get_secret_value().encode() if key else None)
    redact_logs(redactor)
    catalog = read_catalog(settings, environ)
    for env in catalog.environments.values():
        url = env.database_url.get_secret_value() if env.database_url else ""
        if holds_secret(url):
            redactor.learn(url)
    if not settings.fracas_store_url.startswith("sqlite") and holds_secret(
        settings.fracas_store_url
    ):
        redactor.learn(settings.fracas_store_url)
    api_key = settings.render_api_key
    render = RenderClient(api_key.get_secret_value() if api_key else None, settings.render_api_url)
    redactor.learn(api_key.get_secret_value() if api_key else None)
    library = load_library(actions, settings.fracas_runbooks)
    for problem in library.problems:
        log.warning("runbook left out: %s", problem)
    store = open_store(settings.fracas_store_url)  # connects on first use only
    return ActionContext(
        catalog,
        actions,
        render,
        redactor,
        runbooks=library,
        jobs=Jobs(store),
        incidents=Incidents(store, redactor),
    )


def build_deps(settings: Settings, actions: Mapping[str, Action] = ACTIONS) -> Deps:
    ctx = build_context(settings, actions)
    assert ctx.jobs is not None
    return Deps(settings, ctx, ctx.jobs)
