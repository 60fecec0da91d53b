"""Runbook files as the library loads them: every problem names the file, the line and the key;
a broken file is left out without taking the others with it."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.actions.all import ACTIONS
from bot.config import Catalog
from bot.errors import ConfigError, Problem
from bot.runbooks.library import BUILTIN, catalog_problems, load_library, load_runbook

SHIPPED = sorted(p.stem for p in BUILTIN.glob("*.yaml"))


def write(
    folder: Path, name: str, body: str, *, declared: str | None = None, title: str | None = None
) -> Path:
    """Write `<name>.yaml`: a `name:` line (the file's name unless `declared`), a `title:` line,
    then `body`, whose first line is therefore line 3 of the file."""
    path = folder / f"{name}.yaml"
    head = f"name: {declared or name}\ntitle: {title or name.title()}\n"
    path.write_text(head + textwrap.dedent(body).lstrip())
    return path


def problems(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_runbook(path, ACTIONS)
    return info.value.problems


@dataclass(frozen=True)
class Refused:
    """A runbook file with exactly one problem. `body` follows the `name:` and `title:` lines, so
    it starts at line 3; `where` is what the problem's location says after `<path>:`; the message
    equals `equals` when given, starts with `starts` and holds every string in `contains`."""

    id: str
    body: str
    where: str
    equals: str | None = None
    starts: str = ""
    contains: tuple[str, ...] = ()
    file: str = "book"
    declared: str | None = None


REFUSED = [
    Refused(
        "a_two_step_needs_cycle_at_the_line_of_its_first_step",
        """
        steps:
          - id: a
            action: status
            needs: [b]
          - id: b
            action: status
            needs: [a]
        """,
        where="6: steps.0.needs",
        equals="needs form a cycle: a → b → a",
    ),
    Refused(
        "a_longer_needs_cycle_names_every_step_around_it",
        """
        steps:
          - id: start
            action: status
            needs: [x]
          - id: x
            action: status
            needs: [y]
          - id: y
            action: status
            needs: [z]
          - id: z
            action: status
            needs: [x]
        """,
        where="9: steps.1.needs",
        equals="needs form a cycle: x → y → z → x",
    ),
    Refused(
        "an_unknown_action_at_its_action_key_with_did_you_mean",
        """
        steps:
          - id: first
            action: status
          - id: second
            action: stauts
        """,
        where="7: steps.1.action",
        starts="unknown action 'stauts'. Did you mean 'status'?",
    ),
    Refused(
        "run_and_runbooks_are_not_actions_a_step_may_take",
        """
        steps:
          - id: again
            action: run
            with: {runbook: worker-down}
        """,
        where="5: steps.0.action",
        starts="unknown action 'run'.",
    ),
    Refused(
        "a_with_key_the_action_does_not_take_gets_did_you_mean_at_its_own_line",
        """
        steps:
          - id: logs
            action: logs
            with:
              service: worker
              levle: error
        """,
        where="8: steps.0.with.levle",
        starts="unknown logs parameter 'levle'. Did you mean 'level'?",
    ),
    Refused(
        "a_literal_value_the_action_refuses_at_its_key",
        """
        steps:
          - id: logs
            action: logs
            with:
              service: worker
              level: fatal
        """,
        where="8: steps.0.with.level",
        contains=("--level", "known: debug, error, info, warning"),
    ),
    Refused(
        "a_required_action_parameter_left_out",
        """
        steps:
          - id: logs
            action: logs
            with: {level: error}
        """,
        where="6: steps.0.with.service",
        equals="missing <service>.",
    ),
    Refused(
        "a_template_with_an_unknown_variable_at_its_key",
        """
        steps:
          - id: status
            action: status
            with:
              env: "{{ evn }}"
        """,
        where="7: steps.0.with.env",
        contains=("'evn' is undefined",),
    ),
    Refused(
        "needs_naming_an_unknown_step_gets_did_you_mean",
        """
        steps:
          - id: database
            action: status
          - id: schema
            action: status
            needs: [databse]
        """,
        where="8: steps.1.needs.0",
        starts="unknown step 'databse'. Did you mean 'database'?",
    ),
    Refused(
        "a_duplicate_step_id_at_the_second_one",
        """
        steps:
          - id: status
            action: status
          - id: status
            action: status
        """,
        where="6: steps.1.id",
        equals="'status' is used by step 1 too",
    ),
    Refused(
        "causes_naming_an_unknown_step",
        """
        steps:
          - id: status
            action: status
        causes: [status, stauts]
        """,
        where="6: causes.1",
        starts="unknown step 'stauts'. Did you mean 'status'?",
    ),
    Refused(
        "a_timeout_over_100_seconds",
        """
        steps:
          - id: status
            action: status
            timeout: 2m
        """,
        where="6: steps.0.timeout",
        starts="2m is too long: a step gets at most 100 s",
    ),
    Refused(
        "a_name_that_differs_from_the_file_name",
        """
        steps:
          - id: status
            action: status
        """,
        file="worker-down",
        declared="worker-dwon",
        where="1: name",
        contains=("'worker-dwon' differs from the file name worker-down.yaml",),
    ),
    Refused(
        "invalid_yaml_with_its_line",
        """
        steps:
          - id: status
            action: status
           with: {}
        """,
        where="6",
        starts="invalid YAML:",
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.id)
def test_a_file_with_one_problem_is_refused_at_its_line_and_key(tmp_path, case):
    path = write(tmp_path, case.file, case.body, declared=case.declared)
    [problem] = problems(path)
    assert problem.where == f"{path}:{case.where}"
    if case.equals is not None:
        assert problem.message == case.equals
    assert problem.message.startswith(case.starts)
    for fragment in case.contains:
        assert fragment in problem.message


def test_templates_may_use_env_other_env_and_declared_parameters(tmp_path):
    path = write(
        tmp_path,
        "compare",
        """
        parameters:
          env: {}
          service: {default: worker}
        steps:
          - id: envdiff
            action: envdiff
            with: {service: "{{ service }}", env_a: "{{ other_env }}", env_b: "{{ env }}"}
        """,
    )
    assert load_runbook(path, ACTIONS).runbook.name == "compare"


def test_a_timeout_of_100_seconds_is_accepted(tmp_path):
    path = write(
        tmp_path,
        "slow",
        """
        steps:
          - id: status
            action: status
            timeout: 100s
        """,
    )
    assert load_runbook(path, ACTIONS).runbook.steps[0].timeout.total_seconds() == 100


def test_several_problems_in_one_file_are_all_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        "many",
        """
        steps:
          - id: status
            action: stauts
          - id: logs
            action: logs
            with: {service: worker, levle: error}
          - id: status
            action: status
            needs: [nope]
        causes: [zzz]
        """,
    )
    wheres = [p.where.split(": ", 1)[1] for p in problems(path)]
    assert sorted(wheres) == sorted(
        ["steps.0.action", "steps.1.with.levle", "steps.2.id", "steps.2.needs.0", "causes.0"]
    )


def test_an_empty_runbook_file_is_reported_and_the_others_still_load(tmp_path):
    (tmp_path / "todo.yaml").write_text("# to be written\n")
    library = load_library(ACTIONS, tmp_path)
    assert sorted(library.runbooks) == SHIPPED
    assert [p.where.split(":")[0] for p in library.problems] == [str(tmp_path / "todo.yaml")]


def test_a_template_failing_at_render_is_reported_and_the_others_still_load(tmp_path):
    write(
        tmp_path,
        "recent",
        """
        parameters:
          env: {}
          minutes: {default: "30"}
        steps:
          - id: logs
            action: logs
            with: {service: worker, since: "{{ minutes - 5 }}m"}
        """,
    )
    library = load_library(ACTIONS, tmp_path)
    assert "recent" not in library.runbooks
    assert library.problems[0].where.endswith("recent.yaml:9: steps.0.with.since")


def test_the_library_keeps_good_files_when_one_is_broken(tmp_path):
    write(
        tmp_path,
        "good",
        """
        steps:
          - id: status
            action: status
        """,
    )
    broken = write(
        tmp_path,
        "broken",
        """
        steps:
          - id: status
            action: stauts
        """,
    )
    library = load_library(ACTIONS, tmp_path)
    assert sorted(library.runbooks) == sorted([*SHIPPED, "good"])
    assert [p.where for p in library.problems] == [f"{broken}:5: steps.0.action"]


def test_a_file_in_the_extra_dir_replaces_the_builtin_of_the_same_name(tmp_path):
    ours = write(
        tmp_path,
        "worker-down",
        """
        steps:
          - id: status
            action: status
        """,
        title="Our worker down",
    )
    library = load_library(ACTIONS, tmp_path)
    assert library.runbooks["worker-down"].title == "Our worker down"
    assert library.loaded["worker-down"].doc.path == ours
    assert sorted(library.runbooks) == SHIPPED
    assert library.problems == ()


def test_a_missing_extra_dir_leaves_the_builtins(tmp_path):
    library = load_library(ACTIONS, tmp_path / "absent")
    assert sorted(library.runbooks) == SHIPPED
    assert library.problems == ()


def test_runbooks_are_shipped():
    assert {"worker-down", "api-down"} <= set(SHIPPED)


def test_the_builtin_runbooks_are_the_top_level_runbooks_directory():
    """Where users look first; the package holds no copy of its own in a checkout."""
    root = Path(__file__).resolve().parents[2]
    assert root / "runbooks" == BUILTIN
    assert len(SHIPPED) == 6
    assert not list((root / "bot" / "runbooks").glob("**/*.yaml"))


def test_the_extra_dir_may_be_the_builtin_directory_itself(monkeypatch):
    """Run from a checkout, the default `runbooks/` of the working directory is the built-in
    one: the same six, no problem, no duplicate."""
    monkeypatch.chdir(BUILTIN.parent)
    library = load_library(ACTIONS, Path("runbooks"))
    assert sorted(library.runbooks) == SHIPPED
    assert library.problems == ()


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_runbook_loads_and_fits_the_example_catalog(name, catalog):
    entry = load_runbook(BUILTIN / f"{name}.yaml", ACTIONS)
    assert entry.runbook.name == name
    assert catalog_problems(entry, catalog, ACTIONS) == []


def test_catalog_problems_name_an_unknown_service_with_did_you_mean(tmp_path, catalog):
    path = write(
        tmp_path,
        "worker",
        """
        steps:
          - id: status
            action: status
          - id: logs
            action: logs
            with: {service: wroker, env: "{{ env }}"}
        """,
    )
    [problem] = catalog_problems(load_runbook(path, ACTIONS), catalog, ACTIONS)
    assert problem.where == f"{path}:8: steps.1.with"
    assert "unknown service 'wroker'. Did you mean 'worker'?" in problem.message


def test_catalog_problems_name_a_service_missing_from_one_environment():
    catalog = Catalog.model_validate(
        {
            "environments": {
                "staging": {"services": {"api": {"render": "a-s"}, "worker": {"render": "w-s"}}},
                "production": {"services": {"api": {"render": "a-p"}}},
            }
        }
    )
    entry = load_runbook(BUILTIN / "worker-down.yaml", ACTIONS)
    found = catalog_problems(entry, catalog, ACTIONS)
    assert any("production" in p.message for p in found)
