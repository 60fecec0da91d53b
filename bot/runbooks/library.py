"""Runbook files loaded and checked: the built-in ones, then a `runbooks/` directory that adds
or replaces them. Every problem names the file, the line and the key.

The built-in runbooks are the project's top-level `runbooks/`; the wheel carries them inside
the package as `bot/runbooks/builtin/` (setup.py maps one onto the other)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.actions.grammar import usage_error
from bot.actions.params import unknown
from bot.actions.registry import Action
from bot.config import Catalog
from bot.errors import ConfigError, Problem, UsageError
from bot.runbooks.bind import bind, fill, names_for, templated
from bot.runbooks.spec import Library, Loaded, Runbook
from bot.yamldoc import Key, load_yaml


def _builtin() -> Path:
    """Where the shipped runbooks are: inside the installed package, else (a source checkout,
    an editable install) the top-level `runbooks/` beside the package."""
    packaged = Path(__file__).resolve().parent / "builtin"
    if any(packaged.glob("*.yaml")):
        return packaged
    return Path(__file__).resolve().parents[2] / "runbooks"


BUILTIN = _builtin()
NOT_STEPS = frozenset({"run", "runbooks"})  # a runbook does not start runbooks


def load_library(actions: Mapping[str, Action], extra: Path | None = None) -> Library:
    """Built-ins first; a file in `extra` with the same name replaces a built-in. A broken file
    is left out (and reported), so one typo does not take every runbook away."""
    paths = {p.stem: p for p in sorted(BUILTIN.glob("*.yaml"))}
    if extra is not None and extra.is_dir():
        paths |= {p.stem: p for p in sorted(extra.glob("*.yaml"))}
    loaded: dict[str, Loaded] = {}
    problems: list[Problem] = []
    for path in paths.values():
        try:
            entry = load_runbook(path, actions)
        except ConfigError as exc:
            problems += exc.problems
            continue
        loaded[entry.runbook.name] = entry
    return Library(loaded, tuple(problems))


def load_runbook(path: Path, actions: Mapping[str, Action]) -> Loaded:
    doc = load_yaml(path)
    if not doc.data:
        raise ConfigError([Problem(str(path), "empty: a runbook needs name, title and steps")])
    entry = Loaded(doc.validate(Runbook), doc)
    problems = [Problem(doc.where(key), message) for key, message in _problems(entry, actions)]
    if problems:
        raise ConfigError(problems)
    return entry


def catalog_problems(
    entry: Loaded, catalog: Catalog, actions: Mapping[str, Action]
) -> list[Problem]:
    """What would go wrong running it in each environment of this catalog (`fracas check`)."""
    runbook = entry.runbook
    found: dict[str, Problem] = {}
    for env in catalog.env_names:
        try:
            names = names_for(runbook, env, {}, catalog)
        except UsageError as exc:
            return [Problem(entry.where(("parameters",)), exc.message)]
        for i, step in enumerate(runbook.steps):
            try:
                _not_in_env(bind(step, actions[step.action], names, catalog).params, catalog)
            except UsageError as exc:
                found.setdefault(
                    exc.message, Problem(entry.where(("steps", i, "with")), exc.message)
                )
    return list(found.values())


def _not_in_env(params: BaseModel, catalog: Catalog) -> None:
    """The service a step names must be in each environment it names (the params model only
    knows the catalog's services as a whole)."""
    service = getattr(params, "service", None)
    if service not in catalog.services:
        return
    for field in ("env", "env_a", "env_b"):
        env = getattr(params, field, None)
        if env in catalog.environments and service not in catalog.environments[env].services:
            raise UsageError(f"service '{service}' is not in environment '{env}'.")


def _problems(entry: Loaded, actions: Mapping[str, Action]) -> Iterator[tuple[Key, str]]:
    runbook = entry.runbook
    stem = entry.doc.path.stem
    if runbook.name != stem:
        yield ("name",), f"'{runbook.name}' differs from the file name {stem}.yaml; make them one"
    if "env" not in runbook.parameters:
        yield ("parameters",), "every runbook takes `env` (the environment it runs in)"
    runnable = [n for n, a in actions.items() if a.run is not None and n not in NOT_STEPS]
    ids = [s.id for s in runbook.steps]
    for i, step in enumerate(runbook.steps):
        if step.id in ids[:i]:
            yield ("steps", i, "id"), f"'{step.id}' is used by step {ids.index(step.id) + 1} too"
        if step.action not in runnable:
            yield ("steps", i, "action"), unknown("action", step.action, runnable)
        else:
            yield from _with_problems(runbook, i, actions[step.action])
        for j, need in enumerate(step.needs):
            if need == step.id:
                yield ("steps", i, "needs", j), f"step '{need}' cannot need itself"
            elif need not in ids:
                yield (
                    ("steps", i, "needs", j),
                    unknown("step", need, [x for x in ids if x != step.id]),
                )
    cycle = find_cycle(runbook)
    if cycle:
        at = ids.index(cycle[0])
        yield ("steps", at, "needs"), "needs form a cycle: " + " → ".join(cycle)
    for j, cause in enumerate(runbook.causes):
        if cause not in ids:
            yield ("causes", j), unknown("step", cause, dict.fromkeys(ids))


def _with_problems(runbook: Runbook, i: int, action: Action) -> Iterator[tuple[Key, str]]:
    """Keys the action does not take, templates that do not render, and literal values its
    params model refuses; templated values wait for the catalog (`fracas check`, or the run)."""
    step = runbook.steps[i]
    fields = action.params.model_fields
    samples = {k: p.default or f"<{k}>" for k, p in runbook.parameters.items()}
    samples |= {"env": "<env>", "other_env": "<other_env>"}
    values: dict[str, Any] = {}
    for key, value in step.with_.items():
        if key not in fields:
            yield ("steps", i, "with", key), unknown(f"{action.name} parameter", key, fields)
            continue
        try:
            values[key] = fill(value, samples)
        except UsageError as exc:
            yield ("steps", i, "with", key), exc.message
    try:
        action.params.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            if key in step.with_ and templated(step.with_[key]):
                continue
            yield ("steps", i, "with", *(key,) * bool(key)), usage_error(action, [err]).message


def find_cycle(runbook: Runbook) -> list[str]:
    """The first `needs` cycle, as the ids around it (`a → b → a`), or [] when there is none."""
    needs = {s.id: [n for n in s.needs if n != s.id] for s in runbook.steps}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in needs.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in needs:
        if node not in state and (found := visit(node)):
            return found
    return []
