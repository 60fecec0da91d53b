"""The grammar generated from a params model: usage lines."""

from __future__ import annotations

from bot.actions.all import ACTIONS
from bot.actions.grammar import usage


def test_usage_is_generated_from_the_params_model() -> None:
    assert usage(ACTIONS["logs"]) == (
        "logs <service> [env] [--since 1h] [--level debug|info|warning|error] [--grep TEXT] "
        "[--limit N]"
    )
    assert usage(ACTIONS["db"]) == "db <env> [--service SERVICE] [--timeout 5s]"
    assert usage(ACTIONS["stuck"]) == "stuck <env> [--older-than DURATION] [--service SERVICE]"
    assert usage(ACTIONS["incident open"]) == (
        "incident open <title...> [--sev P0|P1|P2] [--env ENV]"
    )
