"""The README's command reference and setup steps stay true to the code."""

from __future__ import annotations

from bot.actions.all import ACTIONS
from bot.actions.grammar import usage

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_command_is_documented_with_its_usage() -> None:
    for action in ACTIONS.values():
        assert f"`{usage(action).replace('|', chr(92) + '|')}`" in README, action.name


def test_the_first_command_installs_and_runs_the_demo() -> None:
    first = README.split("```sh\n", 1)[1].split("\n", 1)[0]
    assert first == "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/fracas demo"


def test_ci_runs_the_readme_test_command() -> None:
    command = ".venv/bin/pip install -e '.[test]' && .venv/bin/pytest"
    assert command in README
    assert ".venv/bin/pytest" in (ROOT / ".ci" / "run").read_text()


def test_every_setting_is_documented() -> None:
    from bot.config import Settings

    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in README, name
