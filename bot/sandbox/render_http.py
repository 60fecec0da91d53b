"""Render's HTTP conventions (reference/render-api.md §1, §2, §10): `{"message"}` refusals, the
fixed-window GET bucket, cursor pages and how query parameters are read."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .render_shapes import Json, utc

Reply = tuple[int, Any, dict[str, str]]  # HTTP status, JSON body, extra headers
Answer = Callable[[web.Request], Any]


class ApiError(Exception):
    """A refusal Render answers as `{"message": ...}` with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(what: str) -> ApiError:
    return ApiError(404, f"not found: {what}")


def reply_to(answer: Answer, request: web.Request) -> Reply:
    try:
        return 200, answer(request), {}
    except ApiError as exc:
        return exc.status, {"message": exc.message}, {}


@dataclass
class Bucket:
    """Render's GET limit: `limit` requests per fixed `window` seconds from the first request."""

    limit: int
    window: float
    started: float | None = None
    used: int = 0

    def take(self, now: float) -> bool:
        self._roll(now)
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def reset_in(self, now: float) -> int:
        """Whole seconds until the window ends, never an epoch and never 0."""
        return max(1, math.ceil(self._roll(now) + self.window - now))

    def headers(self, now: float) -> dict[str, str]:
        reset = self.reset_in(now)  # first: it rolls an expired window over
        return {
            "Ratelimit-Limit": str(self.limit),
            "Ratelimit-Remaining": str(self.limit - self.used),
            "Ratelimit-Reset": str(reset),
        }

    def _roll(self, now: float) -> float:
        """Start a fresh window when none is running; returns when the current one started."""
        if self.started is None or now - self.started >= self.window:
            self.started, self.used = now, 0
        return self.started


def cursor_page(items: list[Json], kind: str, request: web.Request) -> list[Json]:
    """Cursor pages as Render serves them: `limit` (default 20, max 100), items after `cursor`."""
    wrapped = [{"cursor": f"c{i:08d}", kind: item} for i, item in enumerate(items)]
    after = request.query.get("cursor")
    if after is not None:
        wrapped = wrapped[
            next((i + 1 for i, w in enumerate(wrapped) if w["cursor"] == after), len(wrapped)) :
        ]
    return wrapped[: limit_arg(request)]


def limit_arg(request: web.Request) -> int:
    try:
        return min(max(int(request.query.get("limit", "20")), 1), 100)
    except ValueError:
        return 20


def list_arg(request: web.Request, name: str, *, split: bool = True) -> list[str]:
    """An array parameter, given repeated (`?k=a&k=b`) or comma-separated (`?k=a,b`)."""
    raw = request.query.getall(name, [])
    return [v for r in raw for v in (r.split(",") if split else [r]) if v]


def time_arg(request: web.Request, name: str) -> datetime | None:
    """A time parameter as RFC 3339 (any fraction, `Z` or offset) or epoch seconds."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        if raw.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(raw), UTC)
        return utc(datetime.fromisoformat(raw))
    except ValueError:
        raise ApiError(400, f"invalid {name}: {raw!r}, want RFC 3339 or epoch seconds") from None


def find_by_id(items: list[Json], wanted: str) -> Json:
    found = next((item for item in items if item["id"] == wanted), None)
    if found is None:
        raise not_found(wanted)
    return found


def newest_first(items: list[Json], field: str) -> list[Json]:
    """Sorted by an RFC 3339 `field`, newest first; ties newest-added first."""
    return sorted(reversed(items), key=lambda item: item[field], reverse=True)


def within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= at) and (end is None or at < end)
