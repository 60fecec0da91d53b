"""Importing this registers every action: the one import line per action lives here.

It is the one module of the package that looks upward, by design: it lists the runbooks'
own actions (bot.runbooks.action) too, so that there is one list. Nothing imports it back
from below (the layer's modules take the registry from registry.py)."""

from bot.actions import (  # noqa: F401  (registration by import)
    db,
    deploys,
    envdiff,
    health,
    help,
    incident,
    jobs,
    logs,
    schema,
    status,
    stuck,
    timeline,
)
from bot.actions.registry import ACTIONS
from bot.runbooks import action  # noqa: F401  (runbooks, run)

__all__ = ["ACTIONS"]
