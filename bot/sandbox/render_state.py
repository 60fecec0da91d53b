"""What the Render fake knows: owners, services, env vars, deploys, events and logs, seeded by
tests with add_* and read by the HTTP side under the same lock."""

from __future__ import annotations

import copy
import hashlib
import itertools
import threading
from datetime import datetime, timedelta

from .render_logs import LogBook
from .render_shapes import (
    DEFAULT_OWNER,
    Json,
    instance_id,
    rfc3339,
    service_details,
    service_json,
    token,
    utc_now,
)

DEPLOY_TIME = timedelta(minutes=2)
TERMINAL = frozenset(
    {"live", "deactivated", "build_failed", "update_failed", "canceled", "pre_deploy_failed"}
)


class RenderState:
    """The seeded account; a mixin so tests seed the fake itself (`fake.add_service(...)`)."""

    def __init__(self, owners: list[Json] | None = None) -> None:
        super().__init__()
        self.owners = owners or [dict(DEFAULT_OWNER)]
        self._services: dict[str, Json] = {}
        self._instances: dict[str, list[str]] = {}
        self._env: dict[str, dict[str, str]] = {}
        self._deploys: dict[str, list[Json]] = {}
        self._events: dict[str, list[Json]] = {}
        self._logs = LogBook()
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def owner_id(self) -> str:
        return str(self.owners[0]["id"])

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
            service = service_json(service_id, name, type, self.owner_id, created_at or utc_now())
            service["suspended"] = "suspended" if suspended else "not_suspended"
            default_suspenders = ["user"] if suspended else []
            service["suspenders"] = default_suspenders if suspenders is None else suspenders
            service["serviceDetails"] = service_details(
                type, name, num_instances, open_ports, health_check_path, url
            )
            self._services[service_id] = service
            self._instances[service_id] = [instance_id(service_id, i) for i in range(num_instances)]
            self._env[service_id] = dict(env_vars or {})
            self._deploys[service_id] = []
            self._events[service_id] = []
            return copy.deepcopy(service)

    def set_env(self, service_id: str, env_vars: dict[str, str]) -> None:
        """Replace a service's variables, as `PUT /env-vars` would."""
        with self._lock:
            self._known(service_id)
            self._env[service_id] = dict(env_vars)

    def suspend(self, service_id: str, *suspenders: str) -> None:
        """Suspend a service, as `POST /suspend` (or Render, for billing) would."""
        with self._lock:
            self._known(service_id)
            self._services[service_id] |= {
                "suspended": "suspended",
                "suspenders": list(suspenders),
            }

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
        created = created_at or utc_now() - DEPLOY_TIME
        finished = finished_at or (created + DEPLOY_TIME if status in TERMINAL else None)
        with self._lock:
            self._known(service_id)
            deploy_id = self._new_id("dep")
            commit = None
            if commit_message is not None:
                sha = commit_id or hashlib.sha1(deploy_id.encode()).hexdigest()
                when = rfc3339(created - timedelta(minutes=1))
                commit = {"id": sha, "message": commit_message, "createdAt": when}
            deploy = {
                "id": deploy_id,
                "commit": commit,
                "status": status,
                "trigger": trigger,
                "startedAt": rfc3339(created),
                "finishedAt": None if finished is None else rfc3339(finished),
                "createdAt": rfc3339(created),
                "updatedAt": rfc3339(finished or created),
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
                "timestamp": rfc3339(timestamp or utc_now()),
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
            where = instance or instance_id(service_id, 0)
            self._logs.add(timestamp, service_id, where, level, type, message)

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
        return f"{prefix}-{token(f'{prefix}{next(self._serial)}', 20)}"

    def _known(self, service_id: str) -> None:
        if service_id not in self._services:
            raise KeyError(f"no service {service_id}: add_service() it first")
