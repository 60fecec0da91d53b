"""Verbs whose grammar is settled but whose actions land with a later capability.

Each answers honestly that it is not available yet. When its capability lands, its params model
moves into the action's own module and the `planned(...)` line here goes away.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.params import POSITIONAL, REST, EnvName, ServiceName
from bot.actions.registry import planned
from bot.durations import Duration

DATABASE = "the database diagnosis (db, schema, stuck)"
RUNBOOKS = "runbooks"
INCIDENTS = "the incident timeline and FRACAS report"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DbParams(_Params):
    env: Annotated[EnvName, POSITIONAL] = Field(description="environment")
    service: ServiceName | None = Field(None, description="probe this service's DATABASE_URL")


class SchemaParams(_Params):
    env: Annotated[EnvName, POSITIONAL] = Field(description="environment")


class StuckParams(_Params):
    env: Annotated[EnvName, POSITIONAL] = Field(description="environment")
    older_than: Duration | None = Field(None, description="stuck after (default: catalog jobs)")


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


planned("db", DbParams, "Diagnose database connectivity stage by stage.", DATABASE)
planned("schema", SchemaParams, "Check that the required tables exist.", DATABASE)
planned("stuck", StuckParams, "Stuck jobs and recent job errors.", DATABASE)
planned("runbooks", NoParams, "List the runbooks.", RUNBOOKS)
planned("run", RunParams, "Run a runbook: every check at once, with the likely cause.", RUNBOOKS)
planned("incident open", IncidentOpenParams, "Open an incident.", INCIDENTS)
planned("incident status", IncidentStatusParams, "Move the incident to a new state.", INCIDENTS)
planned("note", NoteParams, "Add a note to the incident timeline.", INCIDENTS)
planned("timeline", NoParams, "Show the incident timeline.", INCIDENTS)
planned("report", NoParams, "Write the FRACAS report from the timeline.", INCIDENTS)
