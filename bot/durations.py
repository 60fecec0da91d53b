"""Durations as on-call engineers type them: `30m`, `2h`, `1d`, `1h30m`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

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


def _coerce(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
