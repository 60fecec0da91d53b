"""Actions by name: each is a typed params model plus an async function whose docstring is help."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from bot.integrations.http import HealthProbe
from bot.integrations.postgres.resolver import Resolver
from bot.integrations.render import RenderClient
from bot.redact import Redactor
from bot.results import Result
from bot.runbooks.spec import Library
from bot.store.jobs import Jobs

if TYPE_CHECKING:
    from bot.config import Catalog

ActionFn = Callable[["ActionContext", Any], Awaitable[Result]]


@dataclass(frozen=True)
class Action:
    """One verb of the grammar. `run` is None while its capability has not landed yet."""

    name: str
    params: type[BaseModel]
    doc: str
    run: ActionFn | None = None
    instant: bool = False
    arrives_with: str = ""
    live: bool = False  # reports progress while it runs (ActionContext.progress)

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""


@dataclass(frozen=True)
class ActionContext:
    """What an action may use; built once from settings, shared by every door.

    The clients inside open their connections on whichever event loop uses them, so one
    context serves the console's loop and the Slack work loop alike. A door that shows live
    progress passes a copy with `progress` set (dataclasses.replace) for that one command.
    """

    catalog: Catalog
    actions: Mapping[str, Action]
    render: RenderClient = field(default_factory=lambda: RenderClient(None, ""))
    redactor: Redactor = field(default_factory=Redactor)
    health: HealthProbe = field(default_factory=HealthProbe)
    resolver: Resolver = field(default_factory=Resolver)
    runbooks: Library = field(default_factory=Library)
    progress: Callable[[Any], None] | None = None
    jobs: Jobs | None = None  # the store's queue, for `jobs`; None where no store is open

    async def aclose(self) -> None:
        """Close the running loop's connections; call it before that loop ends."""
        await self.render.aclose()
        await self.health.aclose()
        if self.jobs is not None:
            await self.jobs.store.close()


ACTIONS: dict[str, Action] = {}


def action(
    name: str, params: type[BaseModel], *, instant: bool = False, live: bool = False
) -> Callable[[ActionFn], ActionFn]:
    """Register an action. `instant` ones answer in the Slack ack itself (no I/O, no waiting);
    `live` ones report progress to the door while they run."""

    def register(fn: ActionFn) -> ActionFn:
        ACTIONS[name] = Action(name, params, inspect.getdoc(fn) or "", fn, instant, live=live)
        return fn

    return register


def planned(name: str, params: type[BaseModel], doc: str, arrives_with: str) -> None:
    """Register a verb whose grammar is settled but whose action lands later, so it says so."""
    ACTIONS[name] = Action(name, params, doc, None, True, arrives_with)
