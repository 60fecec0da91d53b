"""Loopback stand-in for the Render REST API (reference/render-api.md §1-§6 and §10).

It serves the reads fracas makes (owners, services, env vars, deploys, events, instances, logs)
with Render's bearer auth, `{"message"}` error bodies, `Render-Request-Id` and `Ratelimit-*`
headers on every response, a fixed-window GET bucket that answers 429 when spent, bare-array
cursor pages and time-paged logs. Tests seed it with add_* and inject latency and failures.
`/apps/{name}/health` stands for the apps' own health endpoints, which are not Render's API.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import hashlib
import itertools
import math
import string
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .loopback import LoopbackServer

Json = dict[str, Any]
Reply = tuple[int, Any, dict[str, str]]  # HTTP status, JSON body, extra headers
Answer = Callable[[web.Request], Any]

DEFAULT_OWNER: Json = {
    "id": "tea-fake0000000000000000",
    "name": "Insurance Navigator",
    "email": "ops@example.com",
    "type": "team",
}
ID_CHARS = string.ascii_lowercase + string.digits
MICROSECOND = timedelta(microseconds=1)
DEPLOY_TIME = timedelta(minutes=2)
TERMINAL = frozenset(
    {"live", "deactivated", "build_failed", "update_failed", "canceled", "pre_deploy_failed"}
)
DASHBOARD_KIND = {
    "web_service": "web",
    "background_worker": "worker",
    "private_service": "pserv",
    "cron_job": "cron",
    "static_site": "static",
}
SERVICE_FILTERS = ("name", "type", "ownerId", "suspended")
LOG_LABELS = ("level", "type", "instance")


class ApiError(Exception):
    """A refusal Render answers as `{"message": ...}` with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _not_found(what: str) -> ApiError:
    return ApiError(404, f"not found: {what}")


@dataclass
class _Bucket:
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


@dataclass(frozen=True)
class _Log:
    at: datetime
    resource: str
    instance: str
    level: str
    type: str
    message: str

    def labels(self) -> dict[str, str]:
        return {
            "resource": self.resource,
            "instance": self.instance,
            "level": self.level,
            "type": self.type,
        }

    def matches(self, wanted: dict[str, list[str]], texts: list[str]) -> bool:
        labels = self.labels()
        if any(values and labels[name] not in values for name, values in wanted.items()):
            return False
        return not texts or any(t in self.message.lower() for t in texts)

    def json(self) -> Json:
        stamp = _rfc3339(self.at)
        digest = hashlib.sha256(f"{stamp} {self.message}".encode()).hexdigest()[:8]
        return {
            "id": f"{self.instance}-{stamp}-{digest}",
            "message": self.message,
            "timestamp": stamp,
            "labels": [{"name": k, "value": v} for k, v in self.labels().items()],
        }


class FakeRender(LoopbackServer):
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
        super().__init__()
        self.api_key = api_key
        self.owners = owners or [dict(DEFAULT_OWNER)]
        self.retry_after = retry_after
        self.requests: list[str] = []
        self.rate_limited = 0  # 429s served because the bucket was spent
        self.delay = 0.0
        self._bucket = _Bucket(get_limit, window)
        self._failures: list[Reply] = []
        self._services: dict[str, Json] = {}
        self._instances: dict[str, list[str]] = {}
        self._env: dict[str, dict[str, str]] = {}
        self._deploys: dict[str, list[Json]] = {}
        self._events: dict[str, list[Json]] = {}
        self._logs: list[_Log] = []  # all services, oldest first, timestamps unique
        self._log_times: set[datetime] = set()
        self._health: dict[str, tuple[int, float]] = {}
        self._request_ids = itertools.count(1)
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def owner_id(self) -> str:
        return str(self.owners[0]["id"])

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

    # seeding

    def add_service(
        self,
        name: str,
        type: str = "web_service",
        *,
        id: str | None = None,
        env_vars: dict[str, str] | None = None,
        suspended: bool = False,
        suspenders: list[str] | None = None,
        num_instances: int = 1,
        open_ports: list[int] | None = None,
        health_check_path: str = "",
        url: str | None = None,
        created_at: datetime | None = None,
    ) -> Json:
        """Add a service shaped like Render's (reference §3); returns a copy of it."""
        with self._lock:
            service_id = id or self._new_id("crn" if type == "cron_job" else "srv")
            service = _service_json(service_id, name, type, self.owner_id, created_at or _now())
            service["suspended"] = "suspended" if suspended else "not_suspended"
            default_suspenders = ["user"] if suspended else []
            service["suspenders"] = default_suspenders if suspenders is None else suspenders
            service["serviceDetails"] = _details(
                type, name, num_instances, open_ports, health_check_path, url
            )
            self._services[service_id] = service
            self._instances[service_id] = [
                _instance_id(service_id, i) for i in range(num_instances)
            ]
            self._env[service_id] = dict(env_vars or {})
            self._deploys[service_id] = []
            self._events[service_id] = []
            return copy.deepcopy(service)

    def set_env(self, service_id: str, env_vars: dict[str, str]) -> None:
        """Replace a service's variables, as `PUT /env-vars` would."""
        with self._lock:
            self._known(service_id)
            self._env[service_id] = dict(env_vars)

    def instance_ids(self, service_id: str) -> list[str]:
        """The service's instance ids (`srv-…-xxxxx`), as log labels and events name them."""
        with self._lock:
            self._known(service_id)
            return list(self._instances[service_id])

    def add_deploy(
        self,
        service_id: str,
        status: str,
        *,
        trigger: str = "new_commit",
        commit_message: str | None = "Update",
        commit_id: str | None = None,
        created_at: datetime | None = None,
        finished_at: datetime | None = None,
    ) -> Json:
        """Add a deploy; a terminal one finishes DEPLOY_TIME after it started unless told.

        `commit_message=None` gives `"commit": null`, as image and some Render-made deploys have.
        """
        created = created_at or _now() - DEPLOY_TIME
        finished = finished_at or (created + DEPLOY_TIME if status in TERMINAL else None)
        with self._lock:
            self._known(service_id)
            deploy_id = self._new_id("dep")
            commit = None
            if commit_message is not None:
                sha = commit_id or hashlib.sha1(deploy_id.encode()).hexdigest()
                when = _rfc3339(created - timedelta(minutes=1))
                commit = {"id": sha, "message": commit_message, "createdAt": when}
            deploy = {
                "id": deploy_id,
                "commit": commit,
                "status": status,
                "trigger": trigger,
                "startedAt": _rfc3339(created),
                "finishedAt": None if finished is None else _rfc3339(finished),
                "createdAt": _rfc3339(created),
                "updatedAt": _rfc3339(finished or created),
            }
            self._deploys[service_id].append(deploy)
            return copy.deepcopy(deploy)

    def add_event(
        self, service_id: str, type: str, details: Json, *, timestamp: datetime | None = None
    ) -> Json:
        """Add an event as `GET /events` lists it; `details` per reference §7 for its type."""
        with self._lock:
            self._known(service_id)
            event = {
                "id": self._new_id("evt"),
                "timestamp": _rfc3339(timestamp or _now()),
                "serviceId": service_id,
                "type": type,
                "details": copy.deepcopy(details),
            }
            self._events[service_id].append(event)
            return copy.deepcopy(event)

    def add_log(
        self,
        service_id: str,
        message: str,
        *,
        timestamp: datetime,
        level: str = "info",
        instance: str | None = None,
        type: str = "app",
    ) -> None:
        """Add one log line; `instance` is a full instance id (default: the first instance).

        Timestamps are kept unique across all services (bumped by 1 µs on a collision), so
        time paging with exclusive bounds reads every line exactly once.
        """
        with self._lock:
            self._known(service_id)
            at = _utc(timestamp)
            while at in self._log_times:
                at += MICROSECOND
            self._log_times.add(at)
            where = instance or _instance_id(service_id, 0)
            entry = _Log(at, service_id, where, level, type, message)
            bisect.insort(self._logs, entry, key=lambda e: e.at)

    def add_logs(
        self,
        service_id: str,
        lines: list[tuple[datetime, str, str]],
        *,
        instance: str | None = None,
    ) -> None:
        """Add (timestamp, level, message) lines of type app."""
        for at, level, message in lines:
            self.add_log(service_id, message, timestamp=at, level=level, instance=instance)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}-{_token(f'{prefix}{next(self._serial)}', 20)}"

    def _known(self, service_id: str) -> None:
        if service_id not in self._services:
            raise KeyError(f"no service {service_id}: add_service() it first")

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
            status, body, extra = self._admit(request, now) or _answer(answer, request)
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
        raise _not_found(request.path)

    def _owners_page(self, request: web.Request) -> list[Json]:
        return _page(self.owners, "owner", request)

    def _owner(self, request: web.Request) -> Json:
        wanted = request.match_info["owner_id"]
        return _find(self.owners, wanted)

    def _services_page(self, request: web.Request) -> list[Json]:
        wanted = {name: _values(request, name) for name in SERVICE_FILTERS}
        chosen = [
            s
            for s in self._services.values()
            if all(not values or s[name] in values for name, values in wanted.items())
        ]
        return _page(chosen, "service", request)

    def _service(self, request: web.Request) -> Json:
        service_id = request.match_info["service_id"]
        if service_id not in self._services:
            raise _not_found(service_id)
        return self._services[service_id]

    def _env_page(self, request: web.Request) -> list[Json]:
        env = self._env[self._service(request)["id"]]
        return _page([{"key": k, "value": v} for k, v in env.items()], "envVar", request)

    def _env_var(self, request: web.Request) -> Json:
        env = self._env[self._service(request)["id"]]
        key = request.match_info["key"]
        if key not in env:
            raise _not_found(key)
        return {"key": key, "value": env[key]}

    def _deploys_page(self, request: web.Request) -> list[Json]:
        statuses = _values(request, "status")
        deploys = _newest_first(self._deploys[self._service(request)["id"]], "createdAt")
        chosen = [d for d in deploys if not statuses or d["status"] in statuses]
        return _page(chosen, "deploy", request)

    def _deploy(self, request: web.Request) -> Json:
        deploys = self._deploys[self._service(request)["id"]]
        return _find(deploys, request.match_info["deploy_id"])

    def _events_page(self, request: web.Request) -> list[Json]:
        types = _values(request, "type")
        start, end = _time_arg(request, "startTime"), _time_arg(request, "endTime")
        events = _newest_first(self._events[self._service(request)["id"]], "timestamp")
        chosen = [
            e
            for e in events
            if (not types or e["type"] in types)
            and _within(datetime.fromisoformat(e["timestamp"]), start, end)
        ]
        return _page(chosen, "event", request)

    def _event(self, request: web.Request) -> Json:
        events = [e for listed in self._events.values() for e in listed]
        return _find(events, request.match_info["event_id"])

    def _instances_list(self, request: web.Request) -> list[Json]:
        service = self._service(request)
        if service["suspended"] == "suspended":
            return []
        ids = self._instances[service["id"]]
        return [{"id": i, "createdAt": service["createdAt"]} for i in ids]

    def _logs_page(self, request: web.Request) -> Json:
        resources = self._log_resources(request)
        now = _now()
        start = _time_arg(request, "startTime") or now - timedelta(hours=1)
        end = _time_arg(request, "endTime") or now
        direction = request.query.get("direction", "backward")
        if direction not in ("backward", "forward"):
            raise ApiError(400, f"invalid direction: {direction!r}, want backward or forward")
        wanted = {name: _values(request, name) for name in LOG_LABELS}
        texts = [t.lower() for t in _values(request, "text", split=False)]
        first = bisect.bisect_left(self._logs, start, key=lambda e: e.at)
        last = bisect.bisect_left(self._logs, end, key=lambda e: e.at)
        chosen = [
            e
            for e in self._logs[first:last]
            if e.resource in resources and e.matches(wanted, texts)
        ]
        return _log_page(chosen, _limit(request), direction == "forward", start, end)

    def _log_resources(self, request: web.Request) -> set[str]:
        """The `resource` ids asked for, each checked to belong to the `ownerId` asked for."""
        owner = request.query.get("ownerId", "")
        resources = _values(request, "resource")
        missing = [name for name, got in (("ownerId", owner), ("resource", resources)) if not got]
        if missing:
            raise ApiError(400, f"missing required query parameter: {', '.join(missing)}")
        if owner not in {o["id"] for o in self.owners}:
            raise _not_found(owner)
        for resource in resources:
            if self._services.get(resource, {}).get("ownerId") != owner:
                raise _not_found(resource)
        return set(resources)


def _answer(answer: Answer, request: web.Request) -> Reply:
    try:
        return 200, answer(request), {}
    except ApiError as exc:
        return exc.status, {"message": exc.message}, {}


def _service_json(service_id: str, name: str, type: str, owner_id: str, now: datetime) -> Json:
    """The fields every service has; the caller adds suspension and serviceDetails."""
    kind = DASHBOARD_KIND.get(type, "web")
    return {
        "id": service_id,
        "name": name,
        "ownerId": owner_id,
        "type": type,
        "createdAt": _rfc3339(now),
        "updatedAt": _rfc3339(now),
        "dashboardUrl": f"https://dashboard.render.com/{kind}/{service_id}",
        "autoDeploy": "yes",
        "notifyOnFail": "default",
        "slug": name,
        "rootDir": "",
        "branch": "main",
        "repo": f"https://github.com/insurance-navigator/{name}",
    }


def _details(
    type: str,
    name: str,
    num_instances: int,
    open_ports: list[int] | None,
    health_check_path: str,
    url: str | None,
) -> Json:
    """serviceDetails of a native Python service; web services add ports, health path, URL."""
    web_service = type == "web_service"
    start = (
        "uvicorn app.main:app --host 0.0.0.0 --port $PORT" if web_service else "python -m worker"
    )
    details: Json = {
        "env": "python",
        "runtime": "python",
        "envSpecificDetails": {
            "buildCommand": "pip install -r requirements.txt",
            "startCommand": start,
        },
        "plan": "starter",
        "region": "oregon",
        "numInstances": num_instances,
        "buildPlan": "starter",
    }
    if web_service:
        ports = None if open_ports is None else [{"port": p, "protocol": "TCP"} for p in open_ports]
        details["healthCheckPath"] = health_check_path
        details["openPorts"] = ports
        details["url"] = url or f"https://{name}.onrender.com"
    return details


def _log_page(
    entries: list[_Log], limit: int, forward: bool, start: datetime, end: datetime
) -> Json:
    """One page of `/logs`; the next window [nextStartTime, nextEndTime) holds exactly the rest."""
    page = entries[:limit] if forward else entries[::-1][:limit]
    more = len(entries) > limit
    body: Json = {"hasMore": more, "nextStartTime": None, "nextEndTime": None}
    if more:
        last = page[-1].at
        start, end = (last + MICROSECOND, end) if forward else (start, last)
        body |= {"nextStartTime": _rfc3339(start), "nextEndTime": _rfc3339(end)}
    return body | {"logs": [e.json() for e in page]}


def _page(items: list[Json], kind: str, request: web.Request) -> list[Json]:
    """Cursor pages as Render serves them: `limit` (default 20, max 100), items after `cursor`."""
    wrapped = [{"cursor": f"c{i:08d}", kind: item} for i, item in enumerate(items)]
    after = request.query.get("cursor")
    if after is not None:
        wrapped = wrapped[
            next((i + 1 for i, w in enumerate(wrapped) if w["cursor"] == after), len(wrapped)) :
        ]
    return wrapped[: _limit(request)]


def _limit(request: web.Request) -> int:
    try:
        return min(max(int(request.query.get("limit", "20")), 1), 100)
    except ValueError:
        return 20


def _values(request: web.Request, name: str, *, split: bool = True) -> list[str]:
    """An array parameter, given repeated (`?k=a&k=b`) or comma-separated (`?k=a,b`)."""
    raw = request.query.getall(name, [])
    return [v for r in raw for v in (r.split(",") if split else [r]) if v]


def _time_arg(request: web.Request, name: str) -> datetime | None:
    """A time parameter as RFC 3339 (any fraction, `Z` or offset) or epoch seconds."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        if raw.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(raw), UTC)
        return _utc(datetime.fromisoformat(raw))
    except ValueError:
        raise ApiError(400, f"invalid {name}: {raw!r}, want RFC 3339 or epoch seconds") from None


def _within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= at) and (end is None or at < end)


def _find(items: list[Json], wanted: str) -> Json:
    found = next((item for item in items if item["id"] == wanted), None)
    if found is None:
        raise _not_found(wanted)
    return found


def _newest_first(items: list[Json], field: str) -> list[Json]:
    """Sorted by an RFC 3339 `field`, newest first; ties newest-added first."""
    return sorted(reversed(items), key=lambda item: item[field], reverse=True)


def _instance_id(service_id: str, index: int) -> str:
    return f"{service_id}-{_token(f'{service_id}/{index}', 5)}"


def _token(seed: str, size: int) -> str:
    """`size` characters of [a-z0-9], the same for the same seed (Render-like ids)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(ID_CHARS[b % len(ID_CHARS)] for b in digest[:size])


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _rfc3339(at: datetime) -> str:
    return _utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
