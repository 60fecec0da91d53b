"""Importing this registers every action: the one import line per action lives here."""

from bot.actions import help, planned  # noqa: F401  (registration by import)
from bot.actions.registry import ACTIONS

__all__ = ["ACTIONS"]
