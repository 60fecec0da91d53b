"""Loopback stand-in for the Render REST API (reference/render-api.md §1, §2, §10).

It serves what fracas calls so far (`GET /v1/owners`), with Render's bearer auth, error bodies,
`Render-Request-Id` and `Ratelimit-*` headers on every response, and bare-array cursor pages.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from aiohttp import web

from .loopback import LoopbackServer

Json = dict[str, Any]
GET_LIMIT = 400  # per minute (reference §1)


class FakeRender(LoopbackServer):
    def __init__(self, *, api_key: str = "rnd_fakekey", owners: list[Json] | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.owners = owners or [
            {
                "id": "tea-fake0000000000000000",
                "name": "Insurance Navigator",
                "email": "ops@example.com",
                "type": "team",
            }
        ]
        self.requests: list[str] = []
        self._failures: list[tuple[int, str]] = []
        self._remaining = GET_LIMIT
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    def fail_next(self, status: int, message: str = "internal error") -> None:
        with self._lock:
            self._failures.append((status, message))

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/owners", self._owners)

    def _reply(self, status: int, body: Any) -> web.Response:
        with self._lock:
            self._remaining = max(self._remaining - 1, 0)
            headers = {
                "Ratelimit-Limit": str(GET_LIMIT),
                "Ratelimit-Remaining": str(self._remaining),
                "Ratelimit-Reset": "42",
                "Render-Request-Id": f"api-fake/req-{next(self._ids):06d}",
            }
        return web.json_response(body, status=status, headers=headers)

    def _refusal(self, request: web.Request) -> web.Response | None:
        with self._lock:
            self.requests.append(request.path_qs)
            failure = self._failures.pop(0) if self._failures else None
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._reply(401, {"message": "unauthorized"})
        if failure is not None:
            return self._reply(failure[0], {"message": failure[1]})
        return None

    async def _owners(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        return self._reply(200, _page(self.owners, "owner", request))


def _page(items: list[Json], kind: str, request: web.Request) -> list[Json]:
    """Cursor pages as Render serves them: `limit` (default 20, max 100), items after `cursor`."""
    try:
        limit = min(max(int(request.query.get("limit", "20")), 1), 100)
    except ValueError:
        limit = 20
    wrapped = [{"cursor": f"c{i:08d}", kind: item} for i, item in enumerate(items)]
    after = request.query.get("cursor")
    if after is not None:
        wrapped = wrapped[
            next((i + 1 for i, w in enumerate(wrapped) if w["cursor"] == after), len(wrapped)) :
        ]
    return wrapped[:limit]
