"""Parameter types shared by actions: positional markers and catalog-checked names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

from bot.config import Catalog
from bot.durations import format_duration


class Positional:
    """Marks a params field as positional, in declaration order; the rest are `--flags`."""

    def __init__(self, rest: bool = False) -> None:
        self.rest = rest


POSITIONAL = Positional()
REST = Positional(rest=True)  # takes the rest of the line as typed, quotes and all


@dataclass(frozen=True)
class CatalogDefault:
    """Marks an optional parameter that, left out, takes a catalog setting (its dotted key);
    `help` shows the value. On a type (EnvName), it applies where the type is positional."""

    key: str

    def explain(self, catalog: Catalog) -> str | None:
        """`production, the catalog's default_env`, or None when the catalog has no value."""
        if self.key == "default_env" and not catalog.default_env:
            first = catalog.fallback_env
            return f"{first}, the first environment of the catalog" if first else None
        value: object = catalog
        for part in self.key.split("."):
            value = getattr(value, part, None)
        if value is None:
            return None
        shown = format_duration(value) if isinstance(value, timedelta) else value
        return f"{shown}, the catalog's {self.key}"


DEFAULT_ENV = CatalogDefault("default_env")


def unknown(kind: str, word: str, choices: Iterable[str]) -> str:
    """`unknown service 'wroker'. Did you mean 'worker'? (known: api, worker)`."""
    return f"unknown {kind} '{word}'.{suggest(word, choices)}"


def suggest(word: str, choices: Iterable[str]) -> str:
    """` Did you mean 'worker'? (known: api, worker)`: a guess only when one is close, and
    what exists, sorted (a tired eye finds a name in a sorted list)."""
    options = sorted(dict.fromkeys(choices))
    close = close_matches(word, options)
    close = close if len(close) < len(options) or len(options) == 1 else []  # all is no guess
    text = " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?" if close else ""
    known = ", ".join(options) if options else "none in the catalog"
    return f"{text} (known: {known})"


def close_matches(word: str, options: Iterable[str], most: int = 3) -> list[str]:
    """Names that start with `word` (`prod` -> production), then names a typo or two away
    (`stauts`, `prodution`); `bogus` is near nothing. A slip is a swap, a missing, extra or
    wrong letter: one allowed per four letters typed, at least one."""
    typed = word.lower()
    allowed = max(1, len(typed) // 4)
    ranked = []
    for option in options:
        name = option.lower()
        if len(typed.lstrip("-")) >= 2 and name.startswith(typed) and name != typed:
            ranked.append((0, option))
        elif (slips := _slips(typed, name, allowed)) <= allowed:
            ranked.append((slips, option))
    return [option for _, option in sorted(ranked)[:most]]


def _slips(a: str, b: str, most: int) -> int:
    """Edit distance counting a swap of neighbours as one (optimal string alignment); gives
    up early (returns most + 1) when the lengths alone say it is too far."""
    if abs(len(a) - len(b)) > most:
        return most + 1
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1]


def _catalog(info: ValidationInfo) -> Catalog | None:
    return (info.context or {}).get("catalog")


def _known_service(value: str, info: ValidationInfo) -> str:
    catalog = _catalog(info)
    if catalog is None or value in catalog.services or value.startswith(("srv-", "crn-")):
        return value
    if catalog.by_render(value):
        return value
    raise ValueError(unknown("service", value, catalog.services))


def _known_env(value: str, info: ValidationInfo) -> str:
    catalog = _catalog(info)
    if catalog is None or value in catalog.environments:
        return value
    raise ValueError(unknown("environment", value, catalog.env_names))


def _known_runbook(value: str, info: ValidationInfo) -> str:
    names = (info.context or {}).get("runbooks")
    if names is None or value in names:
        return value
    if not names:
        raise ValueError(f"unknown runbook '{value}': no runbooks are loaded (`fracas check`).")
    raise ValueError(unknown("runbook", value, names))


def _env_or_id(value: str, info: ValidationInfo) -> str:
    return value if value.startswith(("srv-", "crn-")) else _known_env(value, info)


ServiceName = Annotated[str, AfterValidator(_known_service)]
EnvName = Annotated[str, AfterValidator(_known_env), DEFAULT_ENV]
RunbookName = Annotated[str, AfterValidator(_known_runbook)]
EnvOrServiceId = Annotated[str, AfterValidator(_env_or_id), DEFAULT_ENV]
