"""Text of a `/fracas` command -> an Invocation of a registered action, or a UsageError."""

from __future__ import annotations

import html
import itertools
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.actions.grammar import marker_of, usage, usage_error
from bot.actions.params import unknown
from bot.actions.registry import Action
from bot.config import Catalog
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
        start = i
        buf: list[str] = []
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
    positional = [n for n, f in fields.items() if marker_of(f) is not None]
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
            marker = marker_of(fields[name])
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
