"""The grammar an action's params model defines: usage lines, help rows, the command line a
call parses back from, and pydantic's refusals put in the command's own words."""

from __future__ import annotations

import functools
import types
import typing
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from bot.actions.params import CatalogDefault, Positional, suggest
from bot.actions.registry import Action
from bot.config import Catalog
from bot.durations import format_duration
from bot.errors import UsageError


def command_line(action: Action, params: BaseModel) -> str:
    """The text that parses back into this call: runbook steps show it, so any step can be
    run again by hand."""
    parts = [action.name]
    for name, field in action.params.model_fields.items():
        value = getattr(params, name)
        default = field.get_default(call_default_factory=True)
        if value is None or (marker_of(field) is None and value == default):
            continue
        word = format_duration(value) if isinstance(value, timedelta) else str(value)
        if not word or any(c.isspace() for c in word):
            word = f"'{word}'" if '"' in word else f'"{word}"'
        parts.append(word if marker_of(field) else f"--{name.replace('_', '-')} {word}")
    return " ".join(parts)


def marker_of(field: FieldInfo) -> Positional | None:
    """How the field is typed: a Positional marker, or None for a `--flag`."""
    return next((m for m in field.metadata if isinstance(m, Positional)), None)


def usage_error(action: Action, errors: list[ErrorDetails]) -> UsageError:
    """Pydantic's errors in the command's own words: `<service>: unknown service 'wroker'`."""
    fields = action.params.model_fields
    lines = []
    for err in errors:
        name = str(err["loc"][0]) if err["loc"] else ""
        label = _label(name, fields[name]) if name in fields else action.name
        if err["type"] == "missing":
            lines.append(f"missing {label}.")
        elif err["type"] == "literal_error" and name in fields:
            lines.append(_not_a_choice(name, fields[name], err["input"]))
        elif err["type"] in _NUMBERS:
            bound = next(iter(err.get("ctx", {}).values()), "")
            said = _NUMBERS[err["type"]].format(bound=bound)
            lines.append(f"`{_typed(label, err['input'])}` {said}.")
        else:
            reason = err.get("ctx", {}).get("error", err["msg"])
            lines.append(f"{label}: {reason}")
    return UsageError(" ".join(lines), f"Usage: `{usage(action)}`")


# pydantic's number errors, in the words of the command line
_NUMBERS = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_parsing": "is not a number",
    "greater_than_equal": "is too small: the least is {bound}",
    "greater_than": "is too small: it must be over {bound}",
    "less_than_equal": "is too large: the most is {bound}",
    "less_than": "is too large: it must be under {bound}",
}


def _typed(label: str, value: object) -> str:
    """The option as typed: `--limit abc`, or a positional's value alone."""
    return f"{label} {value}" if label.startswith("--") else f"{value}"


def _not_a_choice(name: str, field: FieldInfo, value: object) -> str:
    """`` `--level eror` is not a level. Did you mean 'error'? (known: debug, error, ...)``."""
    typed = f"--{name.replace('_', '-')} {value}" if marker_of(field) is None else f"{value}"
    said = field.description or ""
    noun = said if said.isalpha() else name.replace("_", " ")  # `severity` reads, `sev` not
    return f"`{typed}` is not a {noun}.{suggest(str(value), _choices(field.annotation))}"


def _label(name: str, field: FieldInfo) -> str:
    return f"<{name}>" if marker_of(field) else f"--{name.replace('_', '-')}"


@functools.cache
def usage(action: Action) -> str:
    """`logs <service> [env] [--since 1h] ...`, generated from the params model."""
    parts = [action.name]
    for name, field in action.params.model_fields.items():
        marker = marker_of(field)
        if marker is not None:
            choices = _choices(field.annotation)
            word = "|".join(choices) if choices else f"{name}..." if marker.rest else name
            parts.append(f"<{word}>" if field.is_required() else f"[{word}]")
        else:
            parts.append(f"[--{name.replace('_', '-')} {_metavar(name, field)}]")
    return " ".join(parts)


def _metavar(name: str, field: FieldInfo) -> str:
    """What a value looks like: the field's example, choices, a duration, N, TEXT, or the
    name in capitals."""
    if field.examples:
        return str(field.examples[0])
    choices = _choices(field.annotation)
    inner, checked = _inner(field.annotation)
    if choices:
        return "|".join(choices)
    if isinstance(field.default, timedelta):
        return format_duration(field.default)
    if inner is timedelta:
        return "DURATION"
    if inner is int:
        return "N"
    return name.upper() if checked or field.metadata else "TEXT"


def describe(action: Action, catalog: Catalog | None = None) -> list[tuple[str, str]]:
    """(argument, description with default) rows for `help <command>`; with the catalog,
    a default it supplies is shown with its value (`<env>`: production, the default_env)."""
    rows = []
    for name, field in action.params.model_fields.items():
        text = field.description or ""
        shown = _default(field, catalog)
        if shown is not None and "(default" not in text:
            text += f" (default {shown})"
        rows.append((_label(name, field), text.strip()))
    return rows


def _default(field: FieldInfo, catalog: Catalog | None) -> str | None:
    if field.is_required():
        return None
    default = field.get_default(call_default_factory=True)
    if default is not None:
        return format_duration(default) if isinstance(default, timedelta) else str(default)
    own = [m for m in field.metadata if isinstance(m, CatalogDefault)]
    typed = [m for m in _type_metadata(field.annotation) if isinstance(m, CatalogDefault)]
    markers = own or (typed if marker_of(field) is not None else [])
    return markers[0].explain(catalog) if markers and catalog is not None else None


def _type_metadata(annotation: Any) -> tuple[Any, ...]:
    """The metadata of the Annotated type under `X | None` (EnvName's markers)."""
    annotation = _unoptional(annotation)
    return annotation.__metadata__ if typing.get_origin(annotation) is typing.Annotated else ()


def _unoptional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _inner(annotation: Any) -> tuple[Any, bool]:
    """The type under `X | None` and `Annotated[...]`, and whether Annotated added checks."""
    annotation = _unoptional(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0], True
    return annotation, False


def _choices(annotation: Any) -> list[str]:
    inner, _ = _inner(annotation)
    return [str(c) for c in typing.get_args(inner)] if typing.get_origin(inner) is Literal else []
