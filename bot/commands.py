"""Text of a `/fracas` command -> an Invocation of a registered action, or a UsageError."""

from __future__ import annotations

import functools
import html
import itertools
import types
import typing
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from bot.actions.params import CatalogDefault, Positional, suggest, unknown
from bot.actions.registry import Action
from bot.config import Catalog
from bot.durations import format_duration
from bot.errors import UsageError

_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


@dataclass(frozen=True)
class Token:
    """A word as typed; `quoted` when it opens with a quote, so it is a literal word (never an
    option), while `--grep='a b'` is an option whose value was quoted."""

    text: str
    start: int
    end: int
    quoted: bool


@dataclass(frozen=True)
class Invocation:
    """A parsed command: which action, with validated params, from what the user typed."""

    action: Action
    params: BaseModel
    text: str


def normalize(text: str) -> str:
    """Undo what Slack does to typed text: HTML entities and typographic quotes."""
    return html.unescape(text).translate(_QUOTES).strip()


def tokens(text: str) -> Iterator[Token]:
    """Split on blanks; a quote opens a string only at a token's start or after `--flag=`.

    So `can't` stays one word, while `"Worker down"` and `--grep="a b"` group as typed. Lazy, so
    a free-text tail (see REST) is never tokenised and cannot fail on an apostrophe. Linear in
    the text: each character is looked at once (a stranger's 64 KB command must not stall us).
    """
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return
        start, buf = i, []
        quoted = text[i] in "\"'"
        head = ""  # the token's first two characters so far: `--` makes `=` open a quote
        while i < n and not text[i].isspace():
            at_open = not buf or (head == "--" and buf[-1] == "=")
            if text[i] in "\"'" and at_open:
                close = text.find(text[i], i + 1)
                if close < 0:
                    raise UsageError(f"unclosed {text[i]} in: {text[start:]}", "Close the quote.")
                piece, i = text[i + 1 : close], close + 1
            else:
                piece, i = text[i], i + 1
            buf.append(piece)
            head = head if len(head) == 2 else (head + piece[:2])[:2]
        yield Token("".join(buf), start, i, quoted)


def parse(
    text: str,
    actions: Mapping[str, Action],
    catalog: Catalog,
    runbooks: Collection[str] | None = None,
) -> Invocation:
    """Parse and validate against the catalog (and the runbooks there are); every refusal
    says what would work instead."""
    text = normalize(text)
    stream = tokens(text)
    first = next(stream, None)
    if first is None:
        return parse("help", actions, catalog, runbooks)
    action, rest = _verb(first, stream, actions)
    values = _bind(action, rest, text)
    context = {"catalog": catalog, "runbooks": runbooks}
    try:
        params = action.params.model_validate(values, context=context)
    except ValidationError as exc:
        raise usage_error(action, exc.errors()) from None
    return Invocation(action, params, text)


def _verb(
    first: Token, stream: Iterator[Token], actions: Mapping[str, Action]
) -> tuple[Action, Iterator[Token]]:
    word = first.text.lower()
    if word in actions:
        return actions[word], stream
    group = sorted(n.split(" ", 1)[1] for n in actions if n.startswith(word + " "))
    if not group:
        tops = dict.fromkeys(n.split(" ")[0] for n in actions)
        raise UsageError(unknown("command", word, tops), "Type `help` for the list.")
    second = next(stream, None)
    if second is None:
        raise UsageError(f"`{word}` needs one of: {', '.join(group)}.", f"Try `help {word}`.")
    name = f"{word} {second.text.lower()}"
    if name not in actions:
        raise UsageError(unknown(f"{word} command", second.text, group), f"Try `help {word}`.")
    return actions[name], stream


def _bind(action: Action, stream: Iterator[Token], text: str) -> dict[str, Any]:
    """Assign tokens to positionals and `--flags` by the params model's fields."""
    fields = action.params.model_fields
    positional = [n for n, f in fields.items() if _marker(f) is not None]
    flags = {n.replace("_", "-"): n for n in fields if n not in positional}
    values: dict[str, Any] = {}
    while (tok := next(stream, None)) is not None:
        if _flag_name(tok) is not None:
            flag, eq, value = tok.text[2:].partition("=")
            if flag not in flags:
                raise UsageError(
                    unknown("option", f"--{flag}", [f"--{f}" for f in flags]),
                    f"Usage: `{usage(action)}`",
                )
            name = flags[flag]
            if not eq:
                following = next(stream, None)
                if following is None:
                    raise UsageError(f"--{flag} needs a value.", f"Usage: `{usage(action)}`")
                value = following.text
            values[name] = value
        elif len(values.keys() & set(positional)) < len(positional):
            name = next(p for p in positional if p not in values)
            marker = _marker(fields[name])
            if marker is not None and marker.rest:
                values[name], pending = _rest(tok, stream, flags, text)
                stream = itertools.chain(pending, stream)
            else:
                values[name] = tok.text
        else:
            raise UsageError(f"unexpected '{tok.text}'.", f"Usage: `{usage(action)}`")
    return values


def _flag_name(tok: Token) -> str | None:
    if tok.quoted or not tok.text.startswith("--") or len(tok.text) < 3:
        return None
    return tok.text[2:].split("=", 1)[0]


def _rest(
    first: Token, stream: Iterator[Token], flags: Mapping[str, str], text: str
) -> tuple[str, list[Token]]:
    """Free text as typed, up to the first option of this command (so `--sev P1` still works).

    Returns the text and the option token it stopped at, for the caller to go on with.
    """
    if first.quoted:
        return first.text, []
    end = first.end
    try:
        for tok in stream:
            if _flag_name(tok) in flags:
                return text[first.start : end], [tok]
            end = tok.end
    except UsageError:
        end = len(text)
    return text[first.start : end], []


def command_line(action: Action, params: BaseModel) -> str:
    """The text that parses back into this call: runbook steps show it, so any step can be
    run again by hand."""
    parts = [action.name]
    for name, field in action.params.model_fields.items():
        value = getattr(params, name)
        default = field.get_default(call_default_factory=True)
        if value is None or (_marker(field) is None and value == default):
            continue
        word = format_duration(value) if isinstance(value, timedelta) else str(value)
        if not word or any(c.isspace() for c in word):
            word = f"'{word}'" if '"' in word else f'"{word}"'
        parts.append(word if _marker(field) else f"--{name.replace('_', '-')} {word}")
    return " ".join(parts)


def _marker(field: FieldInfo) -> Positional | None:
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
    typed = f"--{name.replace('_', '-')} {value}" if _marker(field) is None else f"{value}"
    said = field.description or ""
    noun = said if said.isalpha() else name.replace("_", " ")  # `severity` reads, `sev` not
    return f"`{typed}` is not a {noun}.{suggest(str(value), _choices(field.annotation))}"


def _label(name: str, field: FieldInfo) -> str:
    return f"<{name}>" if _marker(field) else f"--{name.replace('_', '-')}"


@functools.cache
def usage(action: Action) -> str:
    """`logs <service> [env] [--since 1h] ...`, generated from the params model."""
    parts = [action.name]
    for name, field in action.params.model_fields.items():
        marker = _marker(field)
        if marker is not None:
            choices = _choices(field.annotation)
            word = "|".join(choices) if choices else f"{name}..." if marker.rest else name
            parts.append(f"<{word}>" if field.is_required() else f"[{word}]")
        else:
            parts.append(f"[--{name.replace('_', '-')} {_metavar(name, field)}]")
    return " ".join(parts)


def _metavar(name: str, field: FieldInfo) -> str:
    """What a value looks like: choices, a duration, N, TEXT, or the name in capitals."""
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
    markers = own or (typed if _marker(field) is not None else [])
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
