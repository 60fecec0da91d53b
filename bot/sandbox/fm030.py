"""The incidents.md stack frozen in the FM-030 state: production worker down, API healthy.

load_fm030 seeds a FakeRender with the four services, secrets shaped like the real thing (so
redaction is tested against values that look real), deploys, events and an hour of logs in which
the production worker crash-loops on `OSError: [Errno 101] Network is unreachable`. Its causes,
as found in the incident: three variables missing on the production worker, and a DATABASE_URL
on the IPv6-only direct host.

Each environment's Supavisor pooler URL names port 6543 (staging, transaction mode) or 5432
(production, session), as in the incident, whether or not real servers stand in for the
projects: the sandbox's resolver forwards each of those ports to its server's (`Stack.ports`).
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import yaml

from .render_api import FakeRender, Json

POOLER = "aws-0-us-east-1.pooler.supabase.com"
KEY_CHARS = string.ascii_letters + string.digits
MISSING_ON_PRODUCTION_WORKER = (
    "SUPABASE_SERVICE_ROLE_KEY",
    "LLAMAPARSE_API_KEY",
    "DOCUMENT_ENCRYPTION_KEY",
)
CONCURRENCY = {"staging": "2", "production": "4"}
POOLER_PORTS = {"staging": 6543, "production": 5432}  # the incident's: transaction, session
DATABASE_VARIABLES = {"staging": "STAGING_DATABASE_URL", "production": "PRODUCTION_DATABASE_URL"}
API_URLS = {
    "staging": "https://insurance-navigator-api-staging.onrender.com",
    "production": "https://insurance-navigator-api.onrender.com",
}
CRASH_EVERY = timedelta(minutes=2)
SITE = "/opt/render/project/src/.venv/lib/python3.11/site-packages"
STDLIB = "/opt/render/project/python/Python-3.11.9/lib/python3.11"
TRACEBACK = (
    "Traceback (most recent call last):",
    '  File "/opt/render/project/src/worker/main.py", line 48, in <module>',
    "    asyncio.run(main())",
    f'  File "{STDLIB}/asyncio/runners.py", line 190, in run',
    "    return runner.run(main)",
    '  File "/opt/render/project/src/worker/main.py", line 31, in main',
    "    pool = await db.create_pool(settings)",
    '  File "/opt/render/project/src/worker/db.py", line 22, in create_pool',
    "    return await asyncpg.create_pool(settings.database_url, min_size=1, max_size=4)",
    f'  File "{SITE}/asyncpg/pool.py", line 403, in _async__init__',
    "    await self._initialize()",
    f'  File "{SITE}/asyncpg/connect_utils.py", line 1049, in _connect',
    "    conn = await _connect_addr(",
    f'  File "{SITE}/asyncpg/connect_utils.py", line 886, in _connect_addr',
    "    return await __connect_addr(params, True, *args)",
    f'  File "{SITE}/asyncpg/connect_utils.py", line 931, in __connect_addr',
    "    tr, pr = await connector",
    f'  File "{SITE}/asyncpg/connect_utils.py", line 802, in _create_ssl_connection',
    "    tr, pr = await loop.create_connection(",
    f'  File "{STDLIB}/asyncio/base_events.py", line 1085, in create_connection',
    "    raise exceptions[0]",
    f'  File "{STDLIB}/asyncio/base_events.py", line 1069, in create_connection',
    "    sock = await self._connect_sock(",
    f'  File "{STDLIB}/asyncio/base_events.py", line 973, in _connect_sock',
    "    await self.sock_connect(sock, address)",
    f'  File "{STDLIB}/asyncio/selector_events.py", line 634, in sock_connect',
    "    return await fut",
    f'  File "{STDLIB}/asyncio/selector_events.py", line 642, in _sock_connect',
    "    sock.connect(address)",
    "OSError: [Errno 101] Network is unreachable",
)
DAY = 24 * 60
# Render name -> [(started how many minutes before now, seconds it took, status, commit message)]
DEPLOYS: dict[str, list[tuple[int, int, str, str]]] = {
    "api-service-staging": [
        (4 * DAY, 192, "deactivated", "Verify LlamaParse webhook signatures"),
        (DAY + 120, 168, "deactivated", "Bind uvicorn to 0.0.0.0:$PORT"),
        (300, 185, "live", "Add /health database ping"),
    ],
    "api-service-production": [
        (6 * DAY, 220, "deactivated", "Verify LlamaParse webhook signatures"),
        (2 * DAY + 240, 175, "deactivated", "Bind uvicorn to 0.0.0.0:$PORT"),
        (DAY, 201, "live", "Add /health database ping"),
    ],
    "upload-worker-staging": [
        (4 * DAY + 60, 150, "deactivated", "Retry LlamaParse uploads with backoff"),
        (DAY + 180, 134, "deactivated", "Use the Supavisor pooler for the job queue"),
        (360, 161, "live", "Encrypt documents at rest"),
    ],
    "upload-worker-production": [
        (6 * DAY + 120, 157, "deactivated", "Retry LlamaParse uploads with backoff"),
        (2 * DAY + 300, 139, "deactivated", "Use the Supavisor pooler for the job queue"),
        (35, 15 * 60, "update_failed", "Encrypt documents at rest"),  # ended ~20 min ago
    ],
}


@dataclass(frozen=True)
class Stack:
    """What load_fm030 placed, for assertions."""

    services: dict[str, Json]  # by Render name
    secrets: dict[str, str]  # label -> every secret value placed anywhere: none may leak
    refs: dict[str, str]  # environment -> Supabase project ref
    deploys: dict[str, list[Json]]  # by Render name, oldest first
    projects: dict[str, Project] = field(default_factory=dict)  # by environment
    ports: dict[str, int] = field(default_factory=dict)  # of the real servers, if any

    @property
    def database_urls(self) -> dict[str, str]:
        """What the catalog's `${..._DATABASE_URL}` hold: each project's pooler URL, the one
        its services use."""
        return {
            DATABASE_VARIABLES[env]: project.pooler_url(POOLER_PORTS[env])
            for env, project in self.projects.items()
        }

    @property
    def failed_deploy(self) -> Json:
        """The production worker's latest deploy, update_failed."""
        return self.deploys["upload-worker-production"][-1]


@dataclass(frozen=True)
class Project:
    """One environment's Supabase project and the keys its services share."""

    env: str
    ref: str
    password: str
    keys: dict[str, str]

    @property
    def pooler_user(self) -> str:
        return f"postgres.{self.ref}"

    def pooler_url(self, port: int) -> str:
        return f"postgresql://{self.pooler_user}:{self.password}@{POOLER}:{port}/postgres"

    def direct_url(self) -> str:
        return f"postgresql://postgres:{self.password}@db.{self.ref}.supabase.co:5432/postgres"


def load_fm030(
    fake: FakeRender, now: datetime | None = None, ports: Mapping[str, int] | None = None
) -> Stack:
    """Seed `fake` with the FM-030 stack as it was `now` (default: the current UTC time);
    `ports` are those of real servers standing in for the projects (staging, production): the
    URLs keep Supavisor's ports, and the sandbox's resolver forwards them there."""
    now = now or datetime.now(UTC)
    rng = random.Random("fm030")
    staging, production = _project(rng, "staging", now), _project(rng, "production", now)
    sentry = f"https://{rng.getrandbits(128):032x}@o123456.ingest.sentry.io/4505"
    staging_url = staging.pooler_url(POOLER_PORTS["staging"])
    env_vars = {
        "api-service-staging": _vars(staging, staging_url, PORT="10000"),
        "upload-worker-staging": _vars(
            staging, staging_url, WORKER_CONCURRENCY="2", SENTRY_DSN=sentry
        ),
        "api-service-production": _vars(
            production, production.pooler_url(POOLER_PORTS["production"]), PORT="10000"
        ),
        "upload-worker-production": {
            key: value
            for key, value in _vars(
                production,
                production.direct_url(),
                WORKER_CONCURRENCY="4",
                NEW_RELIC_APP_NAME="upload-worker",
            ).items()
            if key not in MISSING_ON_PRODUCTION_WORKER
        },
    }
    services = {name: _add_service(fake, name, env, now) for name, env in env_vars.items()}
    ids = {name: service["id"] for name, service in services.items()}
    deploys = {name: _add_deploys(fake, ids[name], DEPLOYS[name], now) for name in ids}
    _add_worker_failures(fake, ids["upload-worker-production"], now)
    _add_logs(fake, ids, now, production, env_vars["upload-worker-production"]["DATABASE_URL"])
    secrets = _secrets(staging, production, env_vars, sentry)
    refs = {"staging": staging.ref, "production": production.ref}
    projects = {"staging": staging, "production": production}
    return Stack(services, secrets, refs, deploys, projects, dict(ports or {}))


REQUIRED_ENV = {
    "api": [
        "DATABASE_URL",
        "SUPABASE_URL",
        "SUPABASE_ANON_KEY",
        "SUPABASE_SERVICE_ROLE_KEY",
        "PORT",
    ],
    "worker": [
        "DATABASE_URL",
        "SUPABASE_URL",
        "SUPABASE_SERVICE_ROLE_KEY",
        "OPENAI_API_KEY",
        "LLAMAPARSE_API_KEY",
        "DOCUMENT_ENCRYPTION_KEY",
    ],
}


def catalog(fake: FakeRender) -> Json:
    """The catalog of this stack (fracas.example.yaml describes the same one), with the APIs'
    health URLs on the stand-in."""
    environments = {
        env: {
            "database_url": f"${{{DATABASE_VARIABLES[env]}}}",
            "services": {
                "api": {
                    "render": f"api-service-{env}",
                    "health_url": fake.health_url(f"api-service-{env}"),
                },
                "worker": {"render": f"upload-worker-{env}"},
            },
        }
        for env in ("staging", "production")
    }
    return {
        "default_env": "production",
        "incidents": {"prefix": "FM", "start": 31},  # the team's series went up to FM-030
        "environments": environments,
        "required_env": REQUIRED_ENV,
    }


def catalog_yaml(fake: FakeRender) -> str:
    return yaml.safe_dump(catalog(fake), sort_keys=False)


# secrets and variables


def _project(rng: random.Random, env: str, now: datetime) -> Project:
    ref = "".join(rng.choice(string.ascii_lowercase) for _ in range(20))
    issued = int((now - timedelta(days=400)).timestamp())
    keys = {
        "SUPABASE_ANON_KEY": _jwt(rng, ref, "anon", issued),
        "SUPABASE_SERVICE_ROLE_KEY": _jwt(rng, ref, "service_role", issued),
        "OPENAI_API_KEY": "sk-proj-" + _chars(rng, KEY_CHARS + "-_", 64),
        "LLAMAPARSE_API_KEY": "llx-" + _chars(rng, KEY_CHARS, 48),
        "DOCUMENT_ENCRYPTION_KEY": base64.b64encode(rng.randbytes(32)).decode(),
    }
    return Project(env, ref, _chars(rng, KEY_CHARS, 24), keys)


def _vars(project: Project, database_url: str, **extra: str) -> dict[str, str]:
    """A service's variables in the order a team adds them: runtime, database, keys, extras."""
    return {
        "PYTHON_VERSION": "3.11.9",
        "ENVIRONMENT": project.env,
        "LOG_LEVEL": "info",
        "DATABASE_URL": database_url,
        "SUPABASE_URL": f"https://{project.ref}.supabase.co",
        **project.keys,
        **extra,
    }


def _secrets(
    staging: Project, production: Project, env_vars: dict[str, dict[str, str]], sentry: str
) -> dict[str, str]:
    found = {f"{name} DATABASE_URL": env["DATABASE_URL"] for name, env in env_vars.items()}
    for project in (staging, production):
        found[f"{project.env} database password"] = project.password
        found |= {f"{project.env} {key}": value for key, value in project.keys.items()}
    found["staging SENTRY_DSN"] = sentry
    return found


def _jwt(rng: random.Random, ref: str, role: str, issued: int) -> str:
    """A Supabase-style API key: an HS256 JWT naming the project and role."""
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"iss": "supabase", "ref": ref, "role": role, "iat": issued, "exp": issued + 10**9}
    parts = [_b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)]
    return ".".join([*parts, _b64url(rng.randbytes(32))])


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _chars(rng: random.Random, alphabet: str, size: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(size))


# services, deploys, events


def _add_service(fake: FakeRender, name: str, env_vars: dict[str, str], now: datetime) -> Json:
    created = now - timedelta(days=90)
    if name.startswith("upload-worker"):
        return fake.add_service(name, "background_worker", env_vars=env_vars, created_at=created)
    fake.set_health(name, 200)
    return fake.add_service(
        name,
        env_vars=env_vars,
        open_ports=[10000],
        health_check_path="/health",
        url=API_URLS[name.removeprefix("api-service-")],
        created_at=created,
    )


def _add_deploys(
    fake: FakeRender, service_id: str, table: list[tuple[int, int, str, str]], now: datetime
) -> list[Json]:
    """One service's deploys, each with its deploy_started and deploy_ended events."""
    deploys = []
    for minutes_ago, seconds, status, message in table:
        started = now - timedelta(minutes=minutes_ago)
        ended = started + timedelta(seconds=seconds)
        deploy = fake.add_deploy(
            service_id, status, commit_message=message, created_at=started, finished_at=ended
        )
        _add_deploy_events(fake, service_id, deploy, started, ended)
        deploys.append(deploy)
    return deploys


def _add_deploy_events(
    fake: FakeRender, service_id: str, deploy: Json, started: datetime, ended: datetime
) -> None:
    trigger = {"manual": False, "newCommit": {"id": deploy["commit"]["id"]}, "rollback": False}
    fake.add_event(
        service_id,
        "deploy_started",
        {"deployId": deploy["id"], "trigger": trigger},
        timestamp=started,
    )
    ended_details: Json = {"deployId": deploy["id"], "deployStatus": "succeeded"}
    if deploy["status"] == "update_failed":
        failure = {"nonZeroExit": 1, "evicted": False}
        ended_details = {**ended_details, "deployStatus": "failed", "reason": {"failure": failure}}
    fake.add_event(service_id, "deploy_ended", ended_details, timestamp=ended)


def _add_worker_failures(fake: FakeRender, worker_id: str, now: datetime) -> None:
    """server_failed every ten minutes over the last hour, as the crash loop raised them."""
    instance = fake.instance_ids(worker_id)[0]
    details = {"instanceID": instance, "reason": {"nonZeroExit": 1, "evicted": False}}
    for minutes in range(58, 0, -10):
        fake.add_event(
            worker_id, "server_failed", details, timestamp=now - timedelta(minutes=minutes)
        )


# logs

Line = tuple[datetime, str, str]  # timestamp, level, message


def _add_logs(
    fake: FakeRender, ids: dict[str, str], now: datetime, production: Project, leaked: str
) -> None:
    fake.add_logs(ids["upload-worker-production"], _crash_loop(now, production.ref, leaked))
    fake.add_logs(ids["upload-worker-staging"], _healthy_worker(now))
    for name in ("api-service-production", "api-service-staging"):
        every = timedelta(seconds=15 if name.endswith("production") else 60)
        for at in _ticks(now, every):
            fake.add_log(ids[name], "GET /health 200", timestamp=at, type="request")
    fake.add_logs(ids["api-service-production"], _api_app_lines(now))


def _ticks(now: datetime, every: timedelta) -> list[datetime]:
    """Times spaced `every` apart over the last hour, oldest first."""
    count = int(timedelta(hours=1) / every)
    return [now - timedelta(hours=1) + every * (i + 0.5) for i in range(count)]


def _crash_loop(now: datetime, ref: str, leaked: str) -> list[Line]:
    """The worker restarting every ~2 minutes; the newest start prints DATABASE_URL in clear."""
    starts = _ticks(now, CRASH_EVERY)
    lines: list[Line] = []
    for n, start in enumerate(starts):
        jittered = start + timedelta(milliseconds=(n * 733) % 4000)
        lines += _crash(jittered, ref, leaked if n == len(starts) - 1 else None)
    return lines


def _crash(start: datetime, ref: str, leaked: str | None) -> list[Line]:
    startup = [
        "Starting upload worker (environment=production)",
        "worker started, concurrency=4",
        *([f"Loaded settings: DATABASE_URL={leaked}"] if leaked else []),
        "Polling for jobs",
        f"Connecting to database at db.{ref}.supabase.co:5432",
    ]
    lines = [(start + timedelta(milliseconds=40 * i), "info", m) for i, m in enumerate(startup)]
    failed_at = start + timedelta(seconds=3, milliseconds=217)
    ending = [*TRACEBACK, "CONFIGURATION_ERROR_FATAL threshold exceeded"]
    return lines + [
        (failed_at + timedelta(milliseconds=i), "error", m) for i, m in enumerate(ending)
    ]


def _healthy_worker(now: datetime) -> list[Line]:
    lines: list[Line] = [
        (now - timedelta(minutes=59, seconds=50), "info", "worker started, concurrency=2")
    ]
    for n, at in enumerate(_ticks(now, timedelta(minutes=1))):
        lines.append((at, "info", "Polling for jobs"))
        if n % 7 == 3:
            job = f"{n * 2654435761 % 16**8:08x}"
            lines.append((at + timedelta(seconds=4), "info", f"Job {job} completed in 3.8s"))
    return lines


def _api_app_lines(now: datetime) -> list[Line]:
    def ago(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    return [
        (ago(55), "info", 'INFO:     10.214.3.7:0 - "POST /api/v1/uploads HTTP/1.1" 202 Accepted'),
        (ago(47), "info", "Queued upload job 3f9c2a1e for document 8812"),
        (ago(31), "info", 'INFO:     10.214.3.9:0 - "GET /api/v1/documents HTTP/1.1" 200 OK'),
        (ago(26), "warning", "Upload job 3f9c2a1e still queued after 21 min: no worker took it"),
        (ago(12), "info", "Queued upload job 7be04d55 for document 8817"),
        (ago(4), "warning", "3 upload jobs queued for more than 30 min"),  # projects.py
    ]
