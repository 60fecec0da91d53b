"""Registering an action: its params type comes from its signature, and a mistake is refused
when the module is imported, not when the command is first typed."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from bot.actions import registry
from bot.actions.all import ACTIONS
from bot.actions.logs import LogsParams, logs
from bot.actions.registry import Action, ActionContext, action
from bot.results import StepResult, Verdict


class PingParams(BaseModel):
    pass


async def _ping(ctx: ActionContext, params: PingParams) -> StepResult:
    """Answer pong."""
    return StepResult(Verdict.OK, "ping", "pong")


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> dict[str, Action]:
    """A copy of the registry to register into, so the real one stays as it was."""
    copy = dict(ACTIONS)
    monkeypatch.setattr(registry, "ACTIONS", copy)
    return copy


def test_the_shipped_actions_take_their_params_from_their_signature() -> None:
    assert ACTIONS["logs"].params is LogsParams and ACTIONS["logs"].run is logs


def test_the_params_type_is_read_from_the_signature(fresh: dict[str, Action]) -> None:
    assert action("ping", instant=True)(_ping) is _ping
    ping = fresh["ping"]
    assert (ping.params, ping.run, ping.summary, ping.instant) == (
        PingParams,
        _ping,
        "Answer pong.",
        True,
    )


def test_a_name_registered_twice_is_refused(fresh: dict[str, Action]) -> None:
    with pytest.raises(ValueError, match="'logs' is registered twice"):
        action("logs")(_ping)
    assert fresh["logs"].run is logs


def test_a_function_that_is_not_async_is_refused(fresh: dict[str, Action]) -> None:
    def ping(ctx: ActionContext, params: PingParams) -> StepResult:
        return StepResult(Verdict.OK, "ping", "pong")

    with pytest.raises(TypeError, match=r"'ping': .*ping is not an async def"):
        action("ping")(ping)
    assert "ping" not in fresh


def test_a_second_parameter_that_is_not_a_params_model_is_refused(
    fresh: dict[str, Action],
) -> None:
    async def untyped(ctx: ActionContext, params) -> StepResult:
        return StepResult(Verdict.OK, "ping", "pong")

    async def text(ctx: ActionContext, params: str) -> StepResult:
        return StepResult(Verdict.OK, "ping", params)

    async def alone(ctx: ActionContext) -> StepResult:
        return StepResult(Verdict.OK, "ping", "pong")

    for fn in (untyped, text, alone):
        with pytest.raises(TypeError, match="second parameter needs a pydantic model"):
            action("ping")(fn)  # type: ignore[arg-type]
    assert "ping" not in fresh
