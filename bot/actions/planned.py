"""Verbs whose grammar is settled but whose actions land with a later capability.

Each answers honestly that it is not available yet. When its capability lands, its params model
moves into the action's own module and the `planned(...)` line here goes away.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.actions.params import POSITIONAL, REST, EnvName
from bot.actions.registry import planned

INCIDENTS = "the incident timeline and FRACAS report"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


planned("incident open", IncidentOpenParams, "Open an incident.", INCIDENTS)
planned("incident status", IncidentStatusParams, "Move the incident to a new state.", INCIDENTS)
planned("note", NoteParams, "Add a note to the incident timeline.", INCIDENTS)
planned("timeline", NoParams, "Show the incident timeline.", INCIDENTS)
planned("report", NoParams, "Write the FRACAS report from the timeline.", INCIDENTS)
