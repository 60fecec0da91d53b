"""Parameter types shared by actions: positional markers and catalog-checked names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

from bot.config import Catalog


class Positional:
    """Marks a params field as positional, in declaration order; the rest are `--flags`."""

    def __init__(self, rest: bool = False) -> None:
        self.rest = rest


POSITIONAL = Positional()
REST = Positional(rest=True)  # takes the rest of the line as typed, quotes and all


def unknown(kind: str, word: str, choices: Iterable[str]) -> str:
    """`unknown service 'wroker'. Did you mean 'worker'? (known: api, worker)`."""
    options = list(choices)
    text = f"unknown {kind} '{word}'."
    close = difflib.get_close_matches(word.lower(), options, n=2, cutoff=0.6)
    if close:
        text += " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    known = ", ".join(options) if options else "none in the catalog"
    return f"{text} (known: {known})"


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
EnvName = Annotated[str, AfterValidator(_known_env)]
RunbookName = Annotated[str, AfterValidator(_known_runbook)]
EnvOrServiceId = Annotated[str, AfterValidator(_env_or_id)]
