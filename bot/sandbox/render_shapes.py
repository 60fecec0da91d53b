"""How Render's objects look on the wire (reference/render-api.md §3): service JSON, Render-like
ids and RFC 3339 timestamps, kept apart so the seeded state and the HTTP side agree on them."""

from __future__ import annotations

import hashlib
import string
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]

DEFAULT_OWNER: Json = {
    "id": "tea-fake0000000000000000",
    "name": "Insurance Navigator",
    "email": "ops@example.com",
    "type": "team",
}
ID_CHARS = string.ascii_lowercase + string.digits
DASHBOARD_KIND = {
    "web_service": "web",
    "background_worker": "worker",
    "private_service": "pserv",
    "cron_job": "cron",
    "static_site": "static",
}


def service_json(service_id: str, name: str, type: str, owner_id: str, now: datetime) -> Json:
    """The fields every service has; the caller adds suspension and serviceDetails."""
    kind = DASHBOARD_KIND.get(type, "web")
    return {
        "id": service_id,
        "name": name,
        "ownerId": owner_id,
        "type": type,
        "createdAt": rfc3339(now),
        "updatedAt": rfc3339(now),
        "dashboardUrl": f"https://dashboard.render.com/{kind}/{service_id}",
        "autoDeploy": "yes",
        "notifyOnFail": "default",
        "slug": name,
        "rootDir": "",
        "branch": "main",
        "repo": f"https://github.com/insurance-navigator/{name}",
    }


def service_details(
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


def instance_id(service_id: str, index: int) -> str:
    return f"{service_id}-{token(f'{service_id}/{index}', 5)}"


def token(seed: str, size: int) -> str:
    """`size` characters of [a-z0-9], the same for the same seed (Render-like ids)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(ID_CHARS[b % len(ID_CHARS)] for b in digest[:size])


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def rfc3339(at: datetime) -> str:
    return utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
