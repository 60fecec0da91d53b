"""Verbs whose grammar is settled but whose actions land with a later capability.

Each answers honestly that it is not available yet. When its capability lands, its params model
moves into the action's own module and the `planned(...)` line here goes away.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.params import POSITIONAL, REST, EnvName, ServiceName
from bot.actions.registry import planned
from bot.durations import Duration

RENDER = "the Render integration (logs, envdiff, status, deploys)"
DATABASE = "the database diagnosis (db, schema, stuck)"
RUNBOOKS = "runbooks"
INCIDENTS = "the incident timeline and FRACAS report"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusParams(_Params):
    env: Annotated[EnvName | None, POSITIONAL] = Field(None, description="environment")


class LogsParams(_Params):
    service: Annotated[ServiceName, POSITIONAL] = Field(description="service name or srv- id")
    env: Annotated[EnvName | None, POSITIONAL] = Field(None, description="environment")
    since: Duration = Field(timedelta(hours=1), description="how far back")
    level: Literal["debug", "info", "warning", "error"] | None = Field(
        None, description="only lines at this level"
    )
    grep: str | None = Field(None, description="only lines containing this text")
    limit: int = Field(2000, ge=1, le=20000, description="most lines to read")


class EnvdiffParams(_Params):
    service: Annotated[ServiceName, POSITIONAL] = Field(description="service name or srv- id")
    env_a: Annotated[EnvName | None, POSITIONAL] = Field(None, description="first environment")
    env_b: Annotated[EnvName | None, POSITIONAL] = Field(None, description="second environment")


class DbParams(_Params):
    env: Annotated[EnvName, POSITIONAL] = Field(description="environment")
    service: ServiceName | None = Field(None, description="probe this service's DATABASE_URL")


class SchemaParams(_Params):
    env: Annotated[EnvName, POSITIONAL] = Field(description="environment")


class StuckParams(_Params):
    env: Annotated[EnvName, POSITIONAL] = Field(description="environment")
    older_than: Duration | None = Field(None, description="stuck after (default: catalog jobs)")


class DeploysParams(_Params):
    service: Annotated[ServiceName, POSITIONAL] = Field(description="service name or srv- id")
    env: Annotated[EnvName | None, POSITIONAL] = Field(None, description="environment")


class RunParams(_Params):
    runbook: Annotated[str, POSITIONAL] = Field(description="runbook name (see `runbooks`)")
    env: Annotated[EnvName | None, POSITIONAL] = Field(None, description="environment")


class IncidentOpenParams(_Params):
    title: Annotated[str, REST] = Field(description="what is wrong, in a few words")
    sev: Literal["P0", "P1", "P2"] = Field("P1", description="severity")
    env: EnvName | None = Field(None, description="affected environment")


class IncidentStatusParams(_Params):
    state: Annotated[
        Literal["investigating", "identified", "monitoring", "resolved"], POSITIONAL
    ] = Field(description="new state")
    text: Annotated[str | None, REST] = Field(None, description="what changed")


class NoteParams(_Params):
    text: Annotated[str, REST] = Field(description="the note, as typed")


class NoParams(_Params):
    pass


planned(
    "status", StatusParams, "Services in an environment: suspended?, latest deploy, health.", RENDER
)
planned("logs", LogsParams, "Triage a service's logs into error patterns with diagnoses.", RENDER)
planned(
    "envdiff",
    EnvdiffParams,
    "Compare a service's variables across environments; secrets as fingerprints.",
    RENDER,
)
planned("db", DbParams, "Diagnose database connectivity stage by stage.", DATABASE)
planned("schema", SchemaParams, "Check that the required tables exist.", DATABASE)
planned("stuck", StuckParams, "Stuck jobs and recent job errors.", DATABASE)
planned("deploys", DeploysParams, "A service's latest deploys: status, trigger, commit.", RENDER)
planned("runbooks", NoParams, "List the runbooks.", RUNBOOKS)
planned("run", RunParams, "Run a runbook: every check at once, with the likely cause.", RUNBOOKS)
planned("incident open", IncidentOpenParams, "Open an incident.", INCIDENTS)
planned("incident status", IncidentStatusParams, "Move the incident to a new state.", INCIDENTS)
planned("note", NoteParams, "Add a note to the incident timeline.", INCIDENTS)
planned("timeline", NoParams, "Show the incident timeline.", INCIDENTS)
planned("report", NoParams, "Write the FRACAS report from the timeline.", INCIDENTS)
