"""`runbooks` lists what can be run; `run <runbook> [env] [name=value ...]` runs every check of
one at once and ranks what failed into a likely cause.

These actions live with the runbooks, not in bot/actions/, as they drive the runner; the
registry below knows the context's library only by its names (registry.Runbooks)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.actions.params import POSITIONAL, REST, EnvName, RunbookName
from bot.actions.registry import ActionContext, action
from bot.errors import FracasError, UsageError
from bot.results import Report, StepResult, Table, Verdict
from bot.runbooks.runner import execute, prepare
from bot.runbooks.spec import Library


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runbook: Annotated[RunbookName, POSITIONAL] = Field(description="runbook (see `runbooks`)")
    env: Annotated[EnvName | None, POSITIONAL] = Field(None, description="environment")
    parameters: Annotated[str | None, REST] = Field(
        None, description="other parameters of the runbook, as name=value"
    )

    @model_validator(mode="before")
    @classmethod
    def _parameters_without_env(cls, values: Any) -> Any:
        """`run api-down service=api`: a name=value where the environment would go starts the
        parameters (the default environment applies)."""
        if isinstance(values, dict) and "=" in str(values.get("env") or ""):
            rest = " ".join(str(v) for v in (values["env"], values.get("parameters")) if v)
            values = {**values, "env": None, "parameters": rest}
        return values


@action("runbooks", instant=True)
async def runbooks(ctx: ActionContext, params: NoParams) -> StepResult:
    """List the runbooks: what each checks, and how to run it."""
    library = _library(ctx)
    rows = tuple(
        (r.usage, str(len(r.steps)), r.summary) for _, r in sorted(library.runbooks.items())
    )
    problems = library.problems
    hints: tuple[str, ...] = (
        "Run one with `run <runbook> [env]`, e.g. `run worker-down production`.",
    )
    if problems:
        hints += (
            f"{len(problems)} problem(s) kept a runbook file out: `fracas check` names them.",
        )
    return StepResult(
        Verdict.WARN if problems else Verdict.INFO,
        "Runbooks",
        f"{len(rows)} runbooks." if rows else "No runbooks are loaded.",
        details=Table(("how to run it", "steps", "what it is for"), rows),
        hints=hints,
    )


@action("run", live=True)
async def run(ctx: ActionContext, params: RunParams) -> Report:
    """Run a runbook: every check at once, with the likely cause."""
    runbook = _library(ctx).runbooks[params.runbook]
    env = params.env or ctx.catalog.fallback_env
    if env is None:
        raise FracasError("The catalog has no environments to run in.", "Add them to fracas.yaml.")
    prepared = prepare(runbook, env, _pairs(params.parameters or ""), ctx)
    return await execute(prepared, ctx, ctx.progress)


def _library(ctx: ActionContext) -> Library:
    """The library wiring put in the context; a context built without one has no runbooks."""
    return ctx.runbooks if isinstance(ctx.runbooks, Library) else Library()


def _pairs(text: str) -> dict[str, str]:
    """`service=api since=2h` -> {"service": "api", "since": "2h"}."""
    pairs = {}
    for word in text.split():
        name, eq, value = word.partition("=")
        if not eq or not name or not value:
            raise UsageError(
                f"'{word}' is not name=value.", "Like: `run api-down production service=api`"
            )
        pairs[name] = value
    return pairs
