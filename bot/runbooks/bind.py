"""A runbook step's `with:` made into an action call: templates filled in from the run's
parameters, then validated by the action's own params model against the catalog."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import ValidationError

from bot.actions.grammar import command_line, usage_error
from bot.actions.params import unknown
from bot.actions.registry import Action
from bot.commands import Invocation
from bot.config import Catalog
from bot.errors import UsageError
from bot.runbooks.spec import Runbook, Step

_JINJA = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def fill(value: Any, names: Mapping[str, str]) -> Any:
    """`"{{ env }}"` -> `production`; values without a template pass through untouched.
    The sandbox and StrictUndefined make a typo an error instead of an empty string."""
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    if not templated(value):
        return value
    try:
        return _JINJA.from_string(value).render(names)
    except TemplateError as exc:
        raise UsageError(f"template {value!r}: {exc.message or exc}") from None
    except Exception as exc:  # what a template computes can fail like any expression
        raise UsageError(f"template {value!r}: {type(exc).__name__}: {exc}") from None


def names_for(
    runbook: Runbook, env: str, given: Mapping[str, str], catalog: Catalog
) -> dict[str, str]:
    """What templates may use: every parameter (given, else its default), and `other_env`,
    the environment to compare `env` against (the first other one in the catalog)."""
    extra = set(given) - set(runbook.parameters)
    if extra:
        word = sorted(extra)[0]
        raise UsageError(unknown(f"parameter of {runbook.name}", word, runbook.parameters))
    names = {k: p.default for k, p in runbook.parameters.items() if p.default is not None}
    names |= {**given, "env": env}
    missing = [k for k in runbook.parameters if k not in names]
    if missing:
        raise UsageError(f"{runbook.name} needs {', '.join(missing)}: write {missing[0]}=VALUE.")
    others = [e for e in catalog.env_names if e != env]
    names["other_env"] = others[0] if others else env
    return names


def bind(step: Step, action: Action, names: Mapping[str, str], catalog: Catalog) -> Invocation:
    """The step as an Invocation, exactly as if its command line had been typed."""
    values = {key: fill(value, names) for key, value in step.with_.items()}
    try:
        params = action.params.model_validate(values, context={"catalog": catalog})
    except ValidationError as exc:
        raise usage_error(action, exc.errors()) from None
    return Invocation(action, params, command_line(action, params))
