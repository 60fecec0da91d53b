"""Importing this registers every action: the one import line per action lives here."""

from bot.actions import (  # noqa: F401  (registration by import)
    deploys,
    envdiff,
    help,
    logs,
    planned,
    status,
)
from bot.actions.registry import ACTIONS

__all__ = ["ACTIONS"]
