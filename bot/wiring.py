"""One place that turns settings into the objects every door shares (no module-level state)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.actions.all import ACTIONS
from bot.actions.registry import Action, ActionContext
from bot.background import Background
from bot.config import Catalog, Settings, load_catalog

log = logging.getLogger(__name__)


@dataclass
class Deps:
    settings: Settings
    ctx: ActionContext
    background: Background = field(default_factory=Background)


def read_catalog(settings: Settings) -> Catalog:
    """The catalog, or an empty one when the file does not exist (help and the console still
    work); a catalog that exists but is wrong raises ConfigError with every problem."""
    path = settings.fracas_catalog
    if not path.exists():
        log.warning(
            "no catalog at %s: services and environments are unknown until it exists "
            "(start from fracas.example.yaml)",
            path,
        )
        return Catalog()
    catalog = load_catalog(path)
    for problem in catalog.unresolved:
        log.warning("%s", problem)
    return catalog


def build_deps(settings: Settings, actions: Mapping[str, Action] = ACTIONS) -> Deps:
    return Deps(settings, ActionContext(read_catalog(settings), actions))
