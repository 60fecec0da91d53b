"""Settings from the environment and the catalog (`fracas.yaml`) of what fracas looks after."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.durations import Duration
from bot.errors import ConfigError, Problem
from bot.yamldoc import Key, YamlDoc, load_yaml


class Settings(BaseSettings):
    """Process settings; names users already know from Slack and Render stay as they are."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    render_api_key: SecretStr | None = None
    render_api_url: str = "https://api.render.com/v1"
    fracas_catalog: Path = Path("fracas.yaml")
    fracas_runbooks: Path = Path("runbooks")  # adds to (or replaces) the built-in runbooks
    fracas_store_url: str = "sqlite:///fracas.db"
    render_webhook_secret: SecretStr | None = None
    fracas_alert_token: SecretStr | None = None
    fracas_fingerprint_key: SecretStr | None = None
    fracas_host: str = "0.0.0.0"
    port: int = Field(3000, ge=1, le=65535)
    fracas_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    fracas_workers: int = Field(1, ge=0, le=64)  # worker processes `fracas serve` supervises
    fracas_worker_slots: int = Field(32, ge=1, le=1000)  # jobs one worker runs at once
    fracas_job_lease: float = Field(20.0, ge=1, le=600)  # seconds a claim lasts unrenewed
    fracas_drain_seconds: float = Field(20.0, ge=0, le=600)  # SIGTERM's wait for running jobs

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None


def load_settings(**overrides: Any) -> Settings:
    """Settings, with a bad variable reported by its name instead of a pydantic dump."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(
            [Problem(str(e["loc"][0]).upper(), e["msg"]) for e in exc.errors()]
        ) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSpec(_Strict):
    render: str = Field(description="Render service name or srv- id")
    health_url: HttpUrl | None = None


class EnvironmentSpec(_Strict):
    database_url: SecretStr | None = None
    services: dict[str, ServiceSpec] = {}

    @field_validator("database_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class SchemaSpec(_Strict):
    required: list[str] = [
        "upload_pipeline.upload_jobs",
        "upload_pipeline.documents",
        "upload_pipeline.document_chunks",
    ]


class JobColumns(_Strict):
    id: str = "job_id"
    state: str = "state"
    status: str = "status"
    updated: str = "updated_at"
    error: str = "last_error"


class JobsSpec(_Strict):
    table: str = "upload_pipeline.upload_jobs"
    columns: JobColumns = JobColumns()
    stuck_states: list[str] = ["queued", "working"]
    stuck_after: Duration = timedelta(hours=1)


class AlertRoute(_Strict):
    match: dict[str, str]
    runbook: str
    severity: Literal["P0", "P1", "P2"] = "P1"


class AlertsSpec(_Strict):
    routes: list[AlertRoute] = []


class IncidentsSpec(_Strict):
    """How incidents are numbered and kept: `FM-31` continues a team's own FRACAS series."""

    prefix: str = Field("FM", pattern=r"^[A-Z]{1,10}$", description="the ids' prefix")
    start: int = Field(1, ge=1, le=999_999_999, description="the first number fracas gives")
    channels: bool = Field(True, description="open a channel per incident (#fm-31-<title>)")
    template: Path | None = Field(None, description="the team's own FRACAS report template")


class ChangesSpec(_Strict):
    enabled: bool = False
    requesters: list[str] = []
    approvers: list[str] = []
    channels: list[str] = []


class Catalog(_Strict):
    """Environments, services and expectations; names here are what commands accept."""

    incident_channel: str | None = None
    default_env: str | None = None
    environments: dict[str, EnvironmentSpec] = {}
    required_env: dict[str, list[str]] = {}
    schema_: SchemaSpec = Field(SchemaSpec(), alias="schema")
    jobs: JobsSpec = JobsSpec()
    alerts: AlertsSpec = AlertsSpec()
    incidents: IncidentsSpec = IncidentsSpec()
    changes: ChangesSpec = ChangesSpec()

    _unresolved: list[Problem] = PrivateAttr(default_factory=list)

    @field_validator("incident_channel")
    @classmethod
    def _channel_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[CG][A-Z0-9]{8,}", value):
            raise ValueError(
                f"'{value}' is not a channel ID; use the ID (like C0123456789) "
                "from the channel's details, not its name"
            )
        return value

    def cross_problems(self) -> list[tuple[Key, str]]:
        """Names that must agree across sections, each located by its key."""
        found: list[tuple[Key, str]] = []
        envs = ", ".join(self.environments) or "none defined"
        if self.default_env is not None and self.default_env not in self.environments:
            found.append((("default_env",), f"'{self.default_env}' is not an environment ({envs})"))
        services = ", ".join(self.services) or "none defined"
        for name in self.required_env:
            if name not in self.services:
                found.append(
                    (
                        ("required_env", name),
                        f"no environment has a service '{name}' (services: {services})",
                    )
                )
        for i, route in enumerate(self.alerts.routes):
            routed = route.match.get("service")
            if routed is not None and routed not in self.services:
                found.append(
                    (
                        ("alerts", "routes", i, "match", "service"),
                        f"no environment has a service '{routed}' (services: {services})",
                    )
                )
        return found

    @property
    def services(self) -> list[str]:
        """Logical service names across environments, in catalog order."""
        return list(dict.fromkeys(s for env in self.environments.values() for s in env.services))

    def by_render(self, name: str) -> tuple[str, str] | None:
        """(environment, service) whose `render:` is this Render name or id, if any."""
        for env, spec in self.environments.items():
            for service, target in spec.services.items():
                if target.render == name:
                    return env, service
        return None

    @property
    def env_names(self) -> list[str]:
        return list(self.environments)

    @property
    def fallback_env(self) -> str | None:
        """The environment a command means when it names none."""
        if self.default_env:
            return self.default_env
        return next(iter(self.environments), None)

    @property
    def unresolved(self) -> list[Problem]:
        """`${VAR}` references whose variable is not set; the rest of the catalog still works."""
        return self._unresolved


_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_INLINE_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def load_catalog(path: Path, environ: Mapping[str, str | None] | None = None) -> Catalog:
    """Load, expand `${VAR}` and validate the catalog; every problem is reported at once."""
    doc = load_yaml(path)
    if environ is None:
        environ = {**dotenv_values(".env"), **os.environ}
    problems: list[Problem] = []
    unresolved: list[Problem] = []
    data = _expand(doc.data if doc.data is not None else {}, (), doc, environ, problems, unresolved)
    try:
        catalog = YamlDoc(doc.path, data, doc.lines).validate(Catalog)
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from None
    problems += [Problem(doc.where(key), message) for key, message in catalog.cross_problems()]
    if problems:
        raise ConfigError(problems)
    template = catalog.incidents.template
    if template is not None and not template.is_absolute():  # as written: beside the catalog
        spec = catalog.incidents.model_copy(update={"template": path.parent / template})
        catalog = catalog.model_copy(update={"incidents": spec})
    catalog._unresolved = unresolved
    return catalog


def _expand(
    value: Any,
    key: Key,
    doc: YamlDoc,
    environ: Mapping[str, str | None],
    problems: list[Problem],
    unresolved: list[Problem],
) -> Any:
    """Replace `${VAR}` from the environment; refuse secrets written in clear."""
    if isinstance(value, dict):
        return {
            k: _expand(v, (*key, str(k)), doc, environ, problems, unresolved)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _expand(v, (*key, i), doc, environ, problems, unresolved) for i, v in enumerate(value)
        ]
    if not isinstance(value, str):
        return value
    if _INLINE_PASSWORD.search(value):
        problems.append(
            Problem(
                doc.where(key),
                "holds a password in clear; set it in an "
                "environment variable and write ${VARIABLE} here",
            )
        )

    def substitute(match: re.Match[str]) -> str:
        found = environ.get(match.group(1))
        if not found:
            unresolved.append(Problem(doc.where(key), f"${{{match.group(1)}}} is not set"))
        return found or ""

    return _REF.sub(substitute, value)
