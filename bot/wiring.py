"""One place that turns settings into the objects every door shares (no module-level state)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.actions.all import ACTIONS
from bot.actions.registry import Action, ActionContext
from bot.background import Background
from bot.config import Catalog, Settings, load_catalog
from bot.integrations.postgres.dsn import holds_secret
from bot.integrations.render import RenderClient
from bot.redact import Redactor, redact_logs
from bot.runbooks.library import load_library

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    ctx: ActionContext
    background: Background = field(default_factory=Background)


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
    api_key = settings.render_api_key
    render = RenderClient(api_key.get_secret_value() if api_key else None, settings.render_api_url)
    redactor.learn(api_key.get_secret_value() if api_key else None)
    library = load_library(actions, settings.fracas_runbooks)
    for problem in library.problems:
        log.warning("runbook left out: %s", problem)
    return ActionContext(catalog, actions, render, redactor, runbooks=library)


def build_deps(settings: Settings, actions: Mapping[str, Action] = ACTIONS) -> Deps:
    return Deps(settings, build_context(settings, actions))
