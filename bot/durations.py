"""Durations as on-call engineers type them: `30m`, `2h`, `1d`, `1h30m`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)(ms|[smhdw])")


def parse_duration(text: str) -> timedelta:
    """`1h30m` -> 90 minutes (`500ms` for timeouts); anything else is refused with an example
    of what works."""
    compact = text.strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"'{text}' is not a duration; write it like 30m, 2h, 1d or 1h30m")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds == 0:
        raise ValueError(f"'{text}' is zero; a duration must be longer than that")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest spelling that `parse_duration` reads back: 5400 s -> `1h30m`."""
    if value < timedelta(seconds=1):
        return f"{value // timedelta(milliseconds=1)}ms"
    seconds = int(value.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out) or "0s"


_AGES = (("y", 365 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_SPAN = (("d", 86400, 10**9), ("h", 3600, 24), ("m", 60, 60), ("s", 1, 60))  # unit, size, wrap


def format_age(value: timedelta) -> str:
    """How long ago, as a person says it: one unit, rounded down: `426d8h51m` -> `1y`,
    `2d4h57m` -> `2d`, `5h10m` -> `5h`, `12m40s` -> `12m`, `40s`."""
    seconds = max(int(value.total_seconds()), 0)
    unit, size = next((u, n) for u, n in _AGES if seconds >= n or u == "s")
    return f"{seconds // size}{unit}"


def format_span(value: timedelta) -> str:
    """How long something took: exact while short (`3m21s`, `45s`, `500ms`), the two largest
    units once long (`2h5m`, `1d4h`); `parse_duration` reads either back."""
    if value < timedelta(seconds=1):
        return format_duration(value)
    seconds = int(value.total_seconds())
    parts = [(seconds // n % m, u) for u, n, m in _SPAN if seconds >= n]
    shown = [f"{count}{unit}" for count, unit in parts[:2] if count]
    return "".join(shown)


def _coerce(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
