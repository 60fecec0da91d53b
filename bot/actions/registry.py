"""Actions by name: each is a typed params model plus an async function whose docstring is help.

This is the bottom layer: it imports no parser, core or runbooks. The runbook library that
wiring puts in the context (bot.runbooks.spec.Library) is known here only by the Runbooks
protocol, what the grammar needs of it; the runbooks' own actions read it whole."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from bot.incidents.repository import Incidents
from bot.incidents.room import Origin
from bot.integrations.http import HealthProbe
from bot.integrations.postgres.resolver import Resolver
from bot.integrations.render import RenderClient
from bot.redact import Redactor
from bot.results import Result
from bot.store.jobs import Jobs

if TYPE_CHECKING:
    from bot.config import Catalog

ActionFn = Callable[["ActionContext", Any], Awaitable[Result]]


@dataclass(frozen=True)
class Action:
    """One verb of the grammar."""

    name: str
    params: type[BaseModel]
    doc: str
    run: ActionFn
    instant: bool = False
    live: bool = False  # reports progress while it runs (ActionContext.progress)
    incident: bool = False  # writes the incident's timeline itself: doors do not record it

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""


class Runbooks(Protocol):
    """The runbook library, as far as parsing goes: the names `run` takes."""

    @property
    def loaded(self) -> Mapping[str, object]: ...


@dataclass(frozen=True)
class NoRunbooks:
    """The library of a context built without one (tests, benches): empty."""

    loaded: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionContext:
    """What an action may use; built once from settings, shared by every door.

    The clients inside open their connections on whichever event loop uses them, so one
    context serves the console's loop and the Slack work loop alike. A door passes a copy for
    one command (dataclasses.replace) with `origin` set, and `progress` to show it live.
    """

    catalog: Catalog
    actions: Mapping[str, Action]
    render: RenderClient = field(default_factory=lambda: RenderClient(None, ""))
    redactor: Redactor = field(default_factory=Redactor)
    health: HealthProbe = field(default_factory=HealthProbe)
    resolver: Resolver = field(default_factory=Resolver)
    runbooks: Runbooks = field(default_factory=NoRunbooks)
    progress: Callable[[Any], None] | None = None
    jobs: Jobs | None = None  # the store's queue, for `jobs`; None where no store is open
    incidents: Incidents | None = None  # the store's incidents; None where no store is open
    origin: Origin = field(default_factory=Origin)  # who runs this command, from where

    async def aclose(self) -> None:
        """Close the running loop's connections; call it before that loop ends."""
        await self.render.aclose()
        await self.health.aclose()
        if self.jobs is not None:
            await self.jobs.store.close()


ACTIONS: dict[str, Action] = {}


def action(
    name: str, *, instant: bool = False, live: bool = False, incident: bool = False
) -> Callable[[ActionFn], ActionFn]:
    """Register `async def fn(ctx, params: XParams)` under `name`, its params type read from
    the signature. `instant` ones answer in the Slack ack itself (no I/O, no waiting); `live`
    ones report progress to the door while they run; `incident` ones keep the timeline."""

    def register(fn: ActionFn) -> ActionFn:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"action {name!r}: {fn.__qualname__} is not an async def")
        doc = inspect.getdoc(fn) or ""
        _add(Action(name, _params_of(name, fn), doc, fn, instant, live=live, incident=incident))
        return fn

    return register


def _params_of(name: str, fn: ActionFn) -> type[BaseModel]:
    """The type of the second parameter; get_type_hints, as the modules postpone annotations."""
    names = list(inspect.signature(fn).parameters)
    params = typing.get_type_hints(fn).get(names[1]) if len(names) > 1 else None
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise TypeError(f"action {name!r}: the second parameter needs a pydantic model type")
    return params


def _add(entry: Action) -> None:
    if entry.name in ACTIONS:
        raise ValueError(f"action {entry.name!r} is registered twice")
    ACTIONS[entry.name] = entry
