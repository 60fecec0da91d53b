"""One redaction layer for everything that leaves the bot: Slack, terminal, files, logs.

Secrets are recognised three ways: by the exact values the bot has read (catalog database URLs,
secret env vars, learned as they pass through), by shape (tokens with known prefixes, JWTs, PEM
keys, passwords in URLs, `password=...`), and by entropy (long random strings). Each one is
replaced by a keyed fingerprint, so two equal secrets still look equal and nothing can be
guessed back without the per-install key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote, unquote_plus

from bot.errors import FracasError
from bot.secret_rules import PEM, RULES, URL_PASSWORD, Rule, secret_pair, weak

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")
E = TypeVar("E", bound=FracasError)
CHUNK = 32_768  # scrub big texts a slice at a time, so no single regex call holds the GIL long
_LITERALS = tuple(sorted({lit for rule in (PEM, *RULES) for lit in rule.literals if lit}))
_TOKEN = re.compile(r"[a-z0-9+/_=-]{20}")


def _suspicious(lowered: str) -> bool:
    """Whether any rule could match: most texts (a help line, a log line) match none, and then
    scrubbing costs these substring checks instead of a pass per rule."""
    return any(lit in lowered for lit in _LITERALS) or _TOKEN.search(lowered) is not None


def is_secret(key: str, value: str) -> bool:
    """Whether an environment variable holds a secret: by name and value together
    (`secret_pair`), by a value of a secret's shape whatever the name, or by a value with
    credentials in it that is not even a well-formed URL (`postgresql:user:pw@host`)."""
    if secret_pair(key, value) or _CREDENTIALS.match(value.strip()):
        return True
    return any(any(rule.find(value)) for rule in (PEM, *RULES))


_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]{1,20}:(?://)?[^\s:/@]{1,128}:[^\n]{1,512}@")


def _slices(text: str) -> list[str]:
    """Cuts of about CHUNK characters, at line ends where there are any."""
    out, start = [], 0
    while start < len(text):
        end = text.find("\n", start + CHUNK)
        end = len(text) if end < 0 else end + 1
        out.append(text[start:end])
        start = end
    return out


def _url_password(value: str) -> str | None:
    """The password of a URL, found as the URL rule finds it (it may hold `@`, `/`, spaces)."""
    for start, end in URL_PASSWORD.find(value):
        return value[start:end]
    return None


class Redactor:
    """Scrubs text and results; thread-safe, since Slack, the work loop and logging share it."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)
        self._known: dict[str, re.Pattern[str]] = {}  # longest first
        self._lock = threading.Lock()

    def fingerprint(self, value: str) -> str:
        """`[secret 1a2b3c4d]`: equal values give equal marks, and the key keeps it one-way."""
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return f"[secret {digest[:8]}]"

    def learn(self, value: str | None) -> None:
        """Mask this exact value wherever it stands as a token later (a log line printing
        it). A URL is learned by its password alone, as written and decoded. Weak values
        (`postgres`) are not learned: masking them as free text would garble `postgresql`;
        the shape rules still mask them where they stand as a secret."""
        if not value:
            return
        password = _url_password(value)
        found = {password, unquote(password)} if password is not None else {value}
        with self._lock:
            fresh = {v for v in found if not weak(v)} - set(self._known)
            for v in fresh:
                self._known[v] = re.compile(rf"(?<![A-Za-z0-9]){re.escape(v)}(?![A-Za-z0-9])")
            if fresh:
                self._known = dict(sorted(self._known.items(), key=lambda kv: -len(kv[0])))

    def text(self, text: str) -> str:
        """Shapes first (a learned value masked first could break the shape around it, as
        `postgres` inside `postgresql://`), then the learned values on token boundaries."""
        if len(text) <= CHUNK:
            if _suspicious(text.lower()):
                text = self._scrub(self._scrub(text, (PEM,)), RULES)
        else:
            text = self._scrub(text, (PEM,))  # a key block may span the cuts below
            text = "".join(self._scrub(chunk, RULES) for chunk in _slices(text))
        for value, pattern in self._known.items():
            if value in text:
                text = pattern.sub(self.fingerprint(value), text)
        return text

    def _scrub(self, text: str, rules: tuple[Rule, ...]) -> str:
        lowered = text.lower()
        for rule in rules:
            if rule.literals and not any(lit in lowered for lit in rule.literals):
                continue
            spans = list(rule.find(text))
            if not spans:
                continue
            parts, last = [], 0
            for start, end in spans:
                if start < last:
                    continue
                parts += [text[last:start], self.fingerprint(text[start:end])]
                last = end
            text = "".join([*parts, text[last:]])
            lowered = text.lower()
        return text

    def result(self, result: R) -> R:
        """A copy of a result (step or report) with every string scrubbed."""
        return dataclasses.replace(result, **self._fields(result))

    def error(self, exc: E) -> E:
        """The error scrubbed in place: re-raised, it keeps its class and its traceback."""
        exc.message, exc.hint = self.text(exc.message), self.text(exc.hint)
        exc.args = (exc.message,)
        return exc

    def _fields(self, value: DataclassInstance) -> dict[str, object]:
        return {f.name: self._walk(getattr(value, f.name)) for f in dataclasses.fields(value)}

    def _walk(self, value: object) -> object:
        """The value with its strings scrubbed, of the same shape: a dataclass stays its class,
        a tuple a tuple, a list a list."""
        if isinstance(value, Enum):
            return value
        if isinstance(value, str):
            return self.text(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.replace(value, **self._fields(value))
        if isinstance(value, (tuple, list)):
            items: Sequence[object] | None = self._lines(value) if len(value) > 1 else None
            if items is None:
                items = [self._walk(v) for v in value]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, dict):
            return {self._walk(k): self._walk(v) for k, v in value.items()}  # keys can be text
        return value

    def _lines(self, values: Sequence[object]) -> list[str] | None:
        """Many one-line strings (detail lines, a table row) scrubbed as one text: one pass
        instead of one per line. None when they are not all one-line strings."""
        lines = [v for v in values if isinstance(v, str) and "\n" not in v]
        if len(lines) < len(values):
            return None
        scrubbed = self.text("\n".join(lines)).split("\n")
        return scrubbed if len(scrubbed) == len(lines) else [self.text(v) for v in lines]


class RedactingFilter(logging.Filter):
    """Scrubs each record, traceback included, before any handler formats it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._clean(record.getMessage())
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self._clean(text)
            record.exc_info = None
        return True

    def _clean(self, text: str) -> str:
        """Percent-decoded first: a form body logs `postgresql%3A%2F%2Fu%3Apw%40host`."""
        return self.redactor.text(unquote_plus(text) if "%" in text else text)


def redact_logs(redactor: Redactor) -> None:
    """Put the filter on every root handler, so library loggers are covered too."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
