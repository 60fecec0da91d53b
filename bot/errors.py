"""Errors that carry what the user should do, so every door can answer clearly."""

from __future__ import annotations

from dataclasses import dataclass


class FracasError(Exception):
    """An expected failure with a message fit to show and, ideally, the next move."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class UsageError(FracasError):
    """The command text cannot be run as typed: unknown word, missing argument, bad value."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration, located precisely enough to fix it."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigError(FracasError):
    """Configuration that cannot be used; holds every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
