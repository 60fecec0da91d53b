"""Importing this registers every action: the one import line per action lives here."""

from bot.actions import (  # noqa: F401  (registration by import)
    db,
    deploys,
    envdiff,
    health,
    help,
    logs,
    planned,
    runbooks,
    schema,
    status,
    stuck,
)
from bot.actions.registry import ACTIONS

__all__ = ["ACTIONS"]
