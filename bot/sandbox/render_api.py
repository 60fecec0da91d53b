"""Loopback stand-in for the Render REST API (reference/render-api.md §1-§6 and §10).

It serves the reads fracas makes (owners, services, env vars, deploys, events, instances, logs)
with Render's bearer auth, `{"message"}` error bodies, `Render-Request-Id` and `Ratelimit-*`
headers on every response, a fixed-window GET bucket that answers 429 when spent, bare-array
cursor pages and time-paged logs. Tests seed it with add_* and inject latency and failures.
`/apps/{name}/health` stands for the apps' own health endpoints, which are not Render's API.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from aiohttp import web

from .loopback import LoopbackServer
from .render_http import (
    Answer,
    ApiError,
    Bucket,
    Reply,
    cursor_page,
    find_by_id,
    limit_arg,
    list_arg,
    newest_first,
    not_found,
    reply_to,
    time_arg,
    within,
)
from .render_logs import LOG_LABELS
from .render_shapes import Json, utc_now
from .render_state import RenderState

__all__ = ["FakeRender", "Json"]

SERVICE_FILTERS = ("name", "type", "ownerId", "suspended")


class FakeRender(RenderState, LoopbackServer):
    """Render's read API on 127.0.0.1: seeded by tests, with Render's headers, limits, paging."""

    def __init__(
        self,
        *,
        api_key: str = "rnd_fakekey",
        owners: list[Json] | None = None,
        get_limit: int = 400,
        window: float = 60.0,
        retry_after: bool = True,
    ) -> None:
        super().__init__(owners)
        self.api_key = api_key
        self.retry_after = retry_after
        self.requests: list[str] = []
        self.rate_limited = 0  # 429s served because the bucket was spent
        self.delay = 0.0
        self._bucket = Bucket(get_limit, window)
        self._failures: list[Reply] = []
        self._health: dict[str, tuple[int, float]] = {}
        self._request_ids = itertools.count(1)

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    def health_url(self, name: str) -> str:
        return f"{self.url}/apps/{name}/health"

    def calls(self, prefix: str) -> int:
        """Requests whose path (with query) starts with `prefix`, e.g. calls("/v1/logs")."""
        with self._lock:
            return sum(path.startswith(prefix) for path in self.requests)

    # test controls

    def fail_next(
        self,
        status: int,
        message: str = "internal error",
        times: int = 1,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next `times` authorised requests, any route, with `status` and `message`."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        with self._lock:
            self._failures += [(status, {"message": message}, headers) for _ in range(times)]

    def set_health(self, name: str, status: int = 200, delay: float = 0.0) -> None:
        """What app `name`'s own /health answers, and after how long."""
        with self._lock:
            self._health[name] = (status, delay)

    # HTTP endpoints

    def routes(self, app: web.Application) -> None:
        api: dict[str, Answer] = {
            "/v1/owners": self._owners_page,
            "/v1/owners/{owner_id}": self._owner,
            "/v1/services": self._services_page,
            "/v1/services/{service_id}": self._service,
            "/v1/services/{service_id}/env-vars": self._env_page,
            "/v1/services/{service_id}/env-vars/{key}": self._env_var,
            "/v1/services/{service_id}/deploys": self._deploys_page,
            "/v1/services/{service_id}/deploys/{deploy_id}": self._deploy,
            "/v1/services/{service_id}/events": self._events_page,
            "/v1/services/{service_id}/instances": self._instances_list,
            "/v1/events/{event_id}": self._event,
            "/v1/logs": self._logs_page,
            "/v1/{tail:.*}": self._unknown,
        }
        for path, answer in api.items():
            app.router.add_get(path, self._endpoint(answer))
        app.router.add_get("/apps/{name}/health", self._health_check)

    def _endpoint(self, answer: Answer) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            return await self._api(request, answer)

        return handler

    async def _api(self, request: web.Request, answer: Answer) -> web.Response:
        with self._lock:
            self.requests.append(request.path_qs)
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        with self._lock:
            now = time.monotonic()
            status, body, extra = self._admit(request, now) or reply_to(answer, request)
            headers = {
                **extra,
                **self._bucket.headers(now),
                "Render-Request-Id": f"api-fake/req-{next(self._request_ids):06d}",
            }
            return web.json_response(body, status=status, headers=headers)  # state: under lock

    def _admit(self, request: web.Request, now: float) -> Reply | None:
        """Render's gates in order: the key, the rate limit, then failures a test queued."""
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"message": "unauthorized"}, {}
        if not self._bucket.take(now):
            self.rate_limited += 1
            wait = {"Retry-After": str(self._bucket.reset_in(now))} if self.retry_after else {}
            return 429, {"message": "Rate limit has been surpassed."}, wait
        return self._failures.pop(0) if self._failures else None

    async def _health_check(self, request: web.Request) -> web.Response:
        with self._lock:
            self.requests.append(request.path_qs)
            state = self._health.get(request.match_info["name"])
        if state is None:
            return web.json_response({"status": "unknown app"}, status=404)
        status, pause = state
        if pause > 0:
            await asyncio.sleep(pause)
        healthy = 200 <= status < 300
        return web.json_response({"status": "ok" if healthy else "unhealthy"}, status=status)

    # answers (called with self._lock held)

    def _unknown(self, request: web.Request) -> Json:
        raise not_found(request.path)

    def _owners_page(self, request: web.Request) -> list[Json]:
        return cursor_page(self.owners, "owner", request)

    def _owner(self, request: web.Request) -> Json:
        wanted = request.match_info["owner_id"]
        return find_by_id(self.owners, wanted)

    def _services_page(self, request: web.Request) -> list[Json]:
        wanted = {name: list_arg(request, name) for name in SERVICE_FILTERS}
        chosen = [
            s
            for s in self._services.values()
            if all(not values or s[name] in values for name, values in wanted.items())
        ]
        return cursor_page(chosen, "service", request)

    def _service(self, request: web.Request) -> Json:
        service_id = request.match_info["service_id"]
        if service_id not in self._services:
            raise not_found(service_id)
        return self._services[service_id]

    def _env_page(self, request: web.Request) -> list[Json]:
        env = self._env[self._service(request)["id"]]
        return cursor_page([{"key": k, "value": v} for k, v in env.items()], "envVar", request)

    def _env_var(self, request: web.Request) -> Json:
        env = self._env[self._service(request)["id"]]
        key = request.match_info["key"]
        if key not in env:
            raise not_found(key)
        return {"key": key, "value": env[key]}

    def _deploys_page(self, request: web.Request) -> list[Json]:
        statuses = list_arg(request, "status")
        deploys = newest_first(self._deploys[self._service(request)["id"]], "createdAt")
        chosen = [d for d in deploys if not statuses or d["status"] in statuses]
        return cursor_page(chosen, "deploy", request)

    def _deploy(self, request: web.Request) -> Json:
        deploys = self._deploys[self._service(request)["id"]]
        return find_by_id(deploys, request.match_info["deploy_id"])

    def _events_page(self, request: web.Request) -> list[Json]:
        types = list_arg(request, "type")
        start, end = time_arg(request, "startTime"), time_arg(request, "endTime")
        events = newest_first(self._events[self._service(request)["id"]], "timestamp")
        chosen = [
            e
            for e in events
            if (not types or e["type"] in types)
            and within(datetime.fromisoformat(e["timestamp"]), start, end)
        ]
        return cursor_page(chosen, "event", request)

    def _event(self, request: web.Request) -> Json:
        events = [e for listed in self._events.values() for e in listed]
        return find_by_id(events, request.match_info["event_id"])

    def _instances_list(self, request: web.Request) -> list[Json]:
        service = self._service(request)
        if service["suspended"] == "suspended":
            return []
        ids = self._instances[service["id"]]
        return [{"id": i, "createdAt": service["createdAt"]} for i in ids]

    def _logs_page(self, request: web.Request) -> Json:
        resources = self._log_resources(request)
        now = utc_now()
        start = time_arg(request, "startTime") or now - timedelta(hours=1)
        end = time_arg(request, "endTime") or now
        direction = request.query.get("direction", "backward")
        if direction not in ("backward", "forward"):
            raise ApiError(400, f"invalid direction: {direction!r}, want backward or forward")
        wanted = {name: list_arg(request, name) for name in LOG_LABELS}
        texts = [t.lower() for t in list_arg(request, "text", split=False)]
        return self._logs.page(
            start,
            end,
            resources=resources,
            wanted=wanted,
            texts=texts,
            limit=limit_arg(request),
            forward=direction == "forward",
        )

    def _log_resources(self, request: web.Request) -> set[str]:
        """The `resource` ids asked for, each checked to belong to the `ownerId` asked for."""
        owner = request.query.get("ownerId", "")
        resources = list_arg(request, "resource")
        missing = [name for name, got in (("ownerId", owner), ("resource", resources)) if not got]
        if missing:
            raise ApiError(400, f"missing required query parameter: {', '.join(missing)}")
        if owner not in {o["id"] for o in self.owners}:
            raise not_found(owner)
        for resource in resources:
            if self._services.get(resource, {}).get("ownerId") != owner:
                raise not_found(resource)
        return set(resources)
