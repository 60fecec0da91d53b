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
import math
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import unquote

T = TypeVar("T")
MIN_LEARNED = 6  # shorter values ("info", "true") would mask ordinary words

_SECRET_WORDS = {
    "KEY", "APIKEY", "SECRET", "SECRETS", "TOKEN", "PASSWORD", "PASSWD", "PASS", "PWD",
    "PRIVATE", "CREDENTIAL", "CREDENTIALS", "AUTH", "DSN", "SALT", "SIGNATURE", "COOKIE",
    "SESSION", "CERT", "PASSPHRASE",
}  # fmt: skip
_NAMES = (
    "password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "api-key", "access_key",
    "private_key", "credential", "encryption_key", "signing_key", "auth_key", "session_key",
    "role_key", "anon_key",
)  # fmt: skip


@dataclass(frozen=True)
class _Rule:
    """One way a secret shows: group "s" of `pattern` is the secret, the rest stays readable.

    `literals` are a cheap pre-check (one of them must occur for the pattern to match at all),
    which keeps a megabyte of clean log text fast. `folded` rules are written in lower case and
    run on the lower-cased text; `bounded` ones must not start in the middle of a word.
    """

    pattern: re.Pattern[str]
    literals: tuple[str, ...]
    folded: bool = False
    bounded: bool = False
    random: bool = False


def _shape(regex: str, *literals: str) -> _Rule:
    return _Rule(re.compile(f"(?P<s>{regex})"), literals or (regex[:3],), bounded=True)


def _folded(regex: str, literals: tuple[str, ...]) -> _Rule:
    return _Rule(re.compile(regex), literals, folded=True)


_PEM = _Rule(
    re.compile(
        r"(?P<s>-----BEGIN [A-Z ]*PRIVATE KEY-----"
        r"(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s]*))"
    ),
    ("PRIVATE KEY-----",),
)
_RULES = (
    _Rule(re.compile(r"://[^\s:/@]*:(?P<s>[^\s/]*)(?=@)"), ("://",)),  # user:password@
    _Rule(re.compile(r"://(?P<s>[0-9a-f]{32})(?=@)"), ("://",)),  # Sentry-style key@host
    _folded(
        r"\b(?:bearer|basic|token)\s+(?P<s>(?=[^\s\"',;]*\d)[^\s\"',;]{8,})",
        ("bearer", "basic", "token"),
    ),
    _folded(
        r"(?:" + "|".join(re.escape(n).replace("_", "[_-]?") for n in _NAMES) + r")"
        r"[\w.-]*[\"']?\s*[:=]\s*[\"']?(?P<s>(?!\d+\b)[^\s\"',;&}<>]{4,})",
        (*(n.replace("_", "") for n in _NAMES), "_key", "-key"),
    ),
    _shape(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}"),  # JWT
    _shape(r"sk-(?:proj-|svcacct-|admin-|ant-)?[\w-]{20,}"),  # OpenAI, Anthropic
    _shape(r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,}", "k_live_", "k_test_"),  # Stripe
    _shape(r"whsec_[A-Za-z0-9+/=]{16,}", "whsec_"),  # webhook signing secrets
    _shape(r"llx-[A-Za-z0-9]{20,}"),  # LlamaParse / LlamaCloud
    _shape(r"xox[abposre]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    _shape(r"xapp-\d-[A-Za-z0-9-]{10,}", "xapp-"),  # Slack app-level tokens
    _shape(r"hooks\.slack\.com/services/[A-Za-z0-9/]{20,}", "hooks.slack"),
    _shape(r"rnd_[A-Za-z0-9]{16,}"),  # Render API keys
    _shape(r"(?:AKIA|ASIA)[0-9A-Z]{16}\b", "AKIA", "ASIA"),  # AWS access key ids
    _shape(r"gh[pousr]_[A-Za-z0-9]{30,}", *(f"gh{c}_" for c in "pousr")),  # GitHub
    _shape(r"github_pat_[A-Za-z0-9_]{22,}", "github_pat_"),
    _shape(r"glpat-[\w-]{20,}", "glpat-"),  # GitLab
    _shape(r"AIza[0-9A-Za-z_-]{35}", "AIza"),  # Google API keys
    _shape(r"SG\.[\w-]{16,}\.[\w-]{16,}", "SG."),  # SendGrid
    _shape(r"sb_secret_[\w-]{16,}", "sb_secret_"),  # Supabase secret keys
    _shape(r"npm_[A-Za-z0-9]{36}", "npm_"),
    _shape(r"hf_[A-Za-z0-9]{30,}"),  # Hugging Face
    _shape(r"dop_v1_[a-f0-9]{64}", "dop_v1_"),  # DigitalOcean
    _Rule(re.compile(r"(?P<s>[A-Za-z0-9+/_-]{32,}={0,2})"), ("",), bounded=True, random=True),
)
CHUNK = 32_768  # scrub big texts a slice at a time, so no single regex call holds the GIL long
_LITERALS = tuple(sorted({lit.lower() for rule in (_PEM, *_RULES) for lit in rule.literals if lit}))
_TOKEN = re.compile(r"[a-z0-9+/_=-]{32}")


def _suspicious(lowered: str) -> bool:
    """Whether any rule could match: most texts (a help line, a log line) match none, and then
    scrubbing costs these substring checks instead of a pass per rule. (One regex alternating
    the literals and the token class is twice as slow: it must try every position.)"""
    return any(lit in lowered for lit in _LITERALS) or _TOKEN.search(lowered) is not None


def looks_random(token: str) -> bool:
    """Keys and passwords from a generator: mixed case and digits with high entropy, or
    long hex (64+: a 256-bit key; 40-char git SHAs stay readable)."""
    if re.fullmatch(r"[0-9a-fA-F]+", token):
        return len(token) >= 64
    if not (re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"\d", token)):
        return False
    counts = Counter(token)
    entropy = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return entropy >= 4.3


def is_secret(key: str, value: str) -> bool:
    """Whether an environment variable holds a secret: by its name, or by its value's shape."""
    words = set(re.split(r"[^A-Z0-9]+", key.upper()))
    if words & _SECRET_WORDS or key.upper().endswith(("KEY", "TOKEN", "SECRET", "PASSWORD")):
        return True
    return any(_secrets(rule, value, value.lower()) for rule in (_PEM, *_RULES))


def _secrets(rule: _Rule, text: str, lowered: str) -> list[tuple[int, int]]:
    """Spans of the secrets this rule finds in `text`."""
    haystack = lowered if rule.folded and len(lowered) == len(text) else text
    if not any(literal in haystack for literal in rule.literals):
        return []
    pattern = rule.pattern
    if rule.folded and haystack is text:  # lower() changed the length: match without folding
        pattern = re.compile(pattern.pattern, re.IGNORECASE)
    spans = []
    for match in pattern.finditer(haystack):
        start, end = match.span("s")
        secret = text[start:end]
        if not secret or secret.startswith("[secret"):
            continue
        if rule.bounded and start > 0 and text[start - 1].isalnum():
            continue
        if rule.random and not looks_random(secret):
            continue
        spans.append((start, end))
    return spans


def _slices(text: str) -> list[str]:
    """Cuts of about CHUNK characters, at line ends where there are any."""
    out, start = [], 0
    while start < len(text):
        end = text.find("\n", start + CHUNK)
        end = len(text) if end < 0 else end + 1
        out.append(text[start:end])
        start = end
    return out


class Redactor:
    """Scrubs text and results; thread-safe, since Slack, the work loop and logging share it."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)
        self._known: set[str] = set()
        self._known_by_length: list[str] = []
        self._lock = threading.Lock()

    def fingerprint(self, value: str) -> str:
        """`[secret 1a2b3c4d]`: equal values give equal marks, and the key keeps it one-way."""
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return f"[secret {digest[:8]}]"

    def learn(self, value: str | None) -> None:
        """Mask this exact value wherever it shows up later (say a log line that prints it)."""
        if not value:
            return
        parts = self._parts(value)
        found = set(parts) if parts else {value}  # a URL stays readable, its password does not
        with self._lock:
            fresh = {v for v in found if len(v) >= MIN_LEARNED} - self._known
            if fresh:
                self._known |= fresh
                self._known_by_length = sorted(self._known, key=len, reverse=True)

    @staticmethod
    def _parts(value: str) -> list[str]:
        """A URL's password alone, as written and decoded, can leak without the URL."""
        match = re.search(r"://[^\s:/@]*:([^\s/]*)@", value)
        return [match.group(1), unquote(match.group(1))] if match else []

    def text(self, text: str) -> str:
        for value in self._known_by_length:
            if value in text:
                text = text.replace(value, self.fingerprint(value))
        if len(text) <= CHUNK:
            if not _suspicious(text.lower()):
                return text
            return self._scrub(self._scrub(text, (_PEM,)), _RULES)
        text = self._scrub(text, (_PEM,))  # a key block may span the cuts below
        return "".join(self._scrub(chunk, _RULES) for chunk in _slices(text))

    def _scrub(self, text: str, rules: tuple[_Rule, ...]) -> str:
        lowered = text.lower()
        for rule in rules:
            spans = _secrets(rule, text, lowered)
            if not spans:
                continue
            parts, last = [], 0
            for start, end in spans:
                parts += [text[last:start], self.fingerprint(text[start:end])]
                last = end
            text = "".join([*parts, text[last:]])
            lowered = text.lower()
        return text

    def result(self, result: T) -> T:
        """A copy of a result (step or report) with every string scrubbed."""
        return self._walk(result)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, Enum):
            return value
        if isinstance(value, str):
            return self.text(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {
                f.name: self._walk(getattr(value, f.name)) for f in dataclasses.fields(value)
            }
            return dataclasses.replace(value, **changes)
        if isinstance(value, (tuple, list)):
            lines = self._lines(value) if len(value) > 1 else None
            items = lines if lines is not None else [self._walk(v) for v in value]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, dict):
            return {self._walk(k): self._walk(v) for k, v in value.items()}  # keys can be text
        return value

    def _lines(self, values: tuple[Any, ...] | list[Any]) -> list[str] | None:
        """Many one-line strings (detail lines, a table row) scrubbed as one text: one pass
        instead of one per line. None when they are not all one-line strings."""
        if not all(isinstance(v, str) and "\n" not in v for v in values):
            return None
        scrubbed = self.text("\n".join(values)).split("\n")
        return scrubbed if len(scrubbed) == len(values) else [self.text(v) for v in values]


class RedactingFilter(logging.Filter):
    """Scrubs each record, traceback included, before any handler formats it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.text(record.getMessage())
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redactor.text(text)
            record.exc_info = None
        return True


def redact_logs(redactor: Redactor) -> None:
    """Put the filter on every root handler, so library loggers are covered too."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
