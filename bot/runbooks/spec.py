"""What a runbook file says: its parameters and steps, checked for shape by pydantic. Whether
its actions, `with:` keys and `needs:` make sense is library.py's job, which knows the actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.durations import Duration, format_duration
from bot.errors import Problem
from bot.yamldoc import Key, YamlDoc

NAME = r"^[a-z][a-z0-9-]*$"
STEP_ID = r"^[a-z][a-z0-9_-]*$"
STEP_SECONDS = 30
MOST_SECONDS = 100  # every step ends well inside the 120 s any command gets


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _bounded(value: timedelta) -> timedelta:
    if value.total_seconds() > MOST_SECONDS:
        raise ValueError(
            f"{format_duration(value)} is too long: a step gets at most {MOST_SECONDS} s, so "
            "the whole runbook answers within a command's 120 s"
        )
    return value


class Parameter(_Spec):
    description: str = ""
    default: str | None = None


class Step(_Spec):
    id: str = Field(pattern=STEP_ID)
    action: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    needs: list[str] = []
    timeout: Annotated[Duration, AfterValidator(_bounded)] = timedelta(seconds=STEP_SECONDS)
    title: str | None = None


class Runbook(_Spec):
    """One runbook. `causes` lists the steps whose findings name a cause, most telling first:
    their failures lead the report's likely cause; other failures follow as symptoms."""

    name: str = Field(pattern=NAME)
    title: str
    description: str = ""
    parameters: dict[str, Parameter] = {"env": Parameter(description="environment")}
    steps: list[Step] = Field(min_length=1)
    causes: list[str] = []

    @property
    def summary(self) -> str:
        """The description's first sentence, for listings."""
        text = " ".join(self.description.split())
        return text.split(". ")[0].rstrip(".") + "." if text else ""

    @property
    def usage(self) -> str:
        """`run worker-down [env] [service=worker]`."""
        extra = [f"[{k}={p.default or 'VALUE'}]" for k, p in self.parameters.items() if k != "env"]
        return " ".join(["run", self.name, "[env]", *extra])


@dataclass(frozen=True)
class Loaded:
    """A runbook and the file it came from, so later checks can point at a line too."""

    runbook: Runbook
    doc: YamlDoc

    def where(self, key: Key) -> str:
        return self.doc.where(key)


@dataclass(frozen=True)
class Library:
    """The runbooks that loaded, and what is wrong with those that did not."""

    loaded: Mapping[str, Loaded] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    @property
    def runbooks(self) -> dict[str, Runbook]:
        return {name: entry.runbook for name, entry in self.loaded.items()}
