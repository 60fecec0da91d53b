"""Running a runbook: steps at once unless they need each other, each bounded by its timeout,
our own failures turned into an error step, and the failing findings ranked as likely causes."""

from __future__ import annotations

import asyncio
import json
import re
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from bot.actions.all import ACTIONS
from bot.actions.params import POSITIONAL, EnvName, ServiceName
from bot.actions.registry import Action, ActionContext
from bot.config import Catalog
from bot.errors import FracasError, UsageError
from bot.results import Report, ServiceFinding, StepResult, Verdict
from bot.runbooks import causes, runner
from bot.runbooks.library import load_library, load_runbook
from bot.runbooks.runner import Run, execute, prepare
from bot.runbooks.spec import Runbook
from bot.sandbox.fm030 import Stack
from bot.sandbox.render_api import FakeRender

from conftest import everything_shown, run, stack_settings
from test_cli import fracas

SECRET = "crash-detail-7f3a9c"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SleepParams(_Params):
    seconds: float = 0.0


class FindingParams(_Params):
    verdict: Literal["ok", "warn", "fail"] = "fail"
    title: str = "finding"
    summary: str = "found something"
    service: ServiceName | None = None


class SurveyParams(_Params):
    failing: ServiceName  # the one service the survey finds failing; the others are fine


class EchoParams(_Params):
    service: Annotated[ServiceName, POSITIONAL]
    env: Annotated[EnvName | None, POSITIONAL] = None


class CompareParams(_Params):
    env_a: Annotated[EnvName, POSITIONAL]
    env_b: Annotated[EnvName, POSITIONAL]


async def _sleep(ctx: ActionContext, params: SleepParams) -> StepResult:
    await asyncio.sleep(params.seconds)
    return StepResult(Verdict.OK, "sleep", f"slept {params.seconds} s")


async def _boom(ctx: ActionContext, params: _Params) -> StepResult:
    raise RuntimeError(SECRET)


async def _refuse(ctx: ActionContext, params: _Params) -> StepResult:
    raise FracasError("Render answered 503.", "Try again in a minute.")


async def _finding(ctx: ActionContext, params: FindingParams) -> StepResult:
    return StepResult(Verdict(params.verdict), params.title, params.summary)


async def _survey(ctx: ActionContext, params: SurveyParams) -> StepResult:
    """Like `status`: one step, a finding per service."""
    found = tuple(
        ServiceFinding(name, Verdict.FAIL, f"{name} crashing")
        if name == params.failing
        else ServiceFinding(name, Verdict.OK, f"{name} healthy")
        for name in ("api", "worker")
    )
    return StepResult(Verdict.FAIL, "survey", "; ".join(f.summary for f in found), findings=found)


async def _echo(ctx: ActionContext, params: EchoParams) -> StepResult:
    return StepResult(Verdict.OK, "echo", f"{params.service} in {params.env}")


async def _compare(ctx: ActionContext, params: CompareParams) -> StepResult:
    return StepResult(Verdict.OK, "compare", f"{params.env_a} against {params.env_b}")


MINE = {
    name: Action(name, params, name, fn)
    for name, params, fn in (
        ("sleep", SleepParams, _sleep),
        ("boom", _Params, _boom),
        ("refuse", _Params, _refuse),
        ("finding", FindingParams, _finding),
        ("echo", EchoParams, _echo),
        ("survey", SurveyParams, _survey),
        ("compare", CompareParams, _compare),
    )
}
OURS = {**ACTIONS, **MINE}


@pytest.fixture
def lab(catalog: Catalog) -> ActionContext:
    return ActionContext(catalog, OURS)


def write(folder: Path, name: str, steps: str, head: str = "") -> Path:
    path = folder / f"{name}.yaml"
    body = f"name: {name}\ntitle: {name.title()}\n{textwrap.dedent(head)}steps:\n"
    path.write_text(body + textwrap.indent(textwrap.dedent(steps).strip() + "\n", "  "))
    return path


def book(folder: Path, steps: str, head: str = "") -> Runbook:
    return load_runbook(write(folder, "book", steps, head), OURS).runbook


@pytest.fixture
def mybook(tmp_path: Path, catalog: Catalog) -> Callable[..., ActionContext]:
    """Writes `mybook` with these steps and the parameters `env: {}` and `service: <service>`,
    and gives an action context whose runbook library holds it."""

    def make(steps: str, service: str = "{}") -> ActionContext:
        write(tmp_path, "mybook", steps, head=f"parameters:\n  env: {{}}\n  service: {service}\n")
        return ActionContext(catalog, OURS, runbooks=load_library(OURS, tmp_path))

    return make


async def start(
    runbook: Runbook, ctx: ActionContext, env: str = "production", **given: str
) -> tuple[Run, Report]:
    prepared = prepare(runbook, env, given, ctx)
    return prepared, await execute(prepared, ctx)


def results(report: Report, runbook: Runbook) -> dict[str, StepResult]:
    return {step.id: result for step, result in zip(runbook.steps, report.steps, strict=True)}


async def test_independent_steps_run_at_the_same_time(tmp_path, lab):
    runbook = book(
        tmp_path,
        """
        - {id: one, action: sleep, with: {seconds: 0.3}}
        - {id: two, action: sleep, with: {seconds: 0.3}}
        - {id: three, action: sleep, with: {seconds: 0.3}}
        """,
    )
    began = time.perf_counter()
    _, report = await start(runbook, lab)
    assert time.perf_counter() - began < 0.75
    assert report.verdict is Verdict.OK
    timings = report.data["steps"]
    assert [timings[s]["start_ms"] < 100 for s in ("one", "two", "three")] == [True] * 3
    assert all(timings[s]["ms"] >= 290 for s in ("one", "two", "three"))


async def test_a_step_starts_only_after_the_steps_it_needs_ended(tmp_path, lab):
    runbook = book(
        tmp_path,
        """
        - {id: after, action: sleep, needs: [first, second]}
        - {id: first, action: sleep, with: {seconds: 0.1}}
        - {id: second, action: sleep, with: {seconds: 0.15}}
        - {id: aside, action: sleep}
        """,
    )
    _, report = await start(runbook, lab)
    timings = report.data["steps"]
    ended = {s: timings[s]["start_ms"] + timings[s]["ms"] for s in ("first", "second")}
    assert timings["after"]["start_ms"] >= max(ended.values()) - 0.2
    assert timings["after"]["needs"] == ["first", "second"]
    assert timings["aside"]["start_ms"] < ended["first"]
    assert report.verdict is Verdict.OK


async def test_a_step_over_its_timeout_is_an_error_and_the_others_finish(tmp_path, lab):
    runbook = book(
        tmp_path,
        """
        - {id: slow, action: sleep, with: {seconds: 5}, timeout: 200ms}
        - {id: found, action: finding, with: {verdict: fail}}
        - {id: quick, action: sleep, with: {seconds: 0.05}}
        """,
    )
    began = time.perf_counter()
    _, report = await start(runbook, lab)
    assert time.perf_counter() - began < 1.0
    found = results(report, runbook)
    assert found["slow"].verdict is Verdict.ERROR
    assert "did not finish within 0.2 s" in found["slow"].summary
    assert found["found"].verdict is Verdict.FAIL
    assert found["quick"].verdict is Verdict.OK


async def test_a_crash_is_an_internal_error_with_a_ref_and_its_message_is_not_shown(
    tmp_path, lab, caplog
):
    runbook = book(
        tmp_path,
        """
        - {id: crash, action: boom}
        - {id: fine, action: sleep}
        """,
    )
    _, report = await start(runbook, lab)
    found = results(report, runbook)
    assert found["crash"].verdict is Verdict.ERROR
    assert "internal error" in found["crash"].summary
    ref = re.search(r"ref ([0-9a-f]{6})", found["crash"].summary)
    assert ref is not None
    assert ref.group(1) in caplog.text
    assert SECRET not in everything_shown(report)
    assert found["fine"].verdict is Verdict.OK


async def test_a_fracas_error_is_an_error_step_with_its_message(tmp_path, lab):
    runbook = book(
        tmp_path,
        """
        - {id: render, action: refuse}
        - {id: fine, action: sleep}
        """,
    )
    _, report = await start(runbook, lab)
    found = results(report, runbook)
    assert found["render"].verdict is Verdict.ERROR
    assert found["render"].summary == "Render answered 503. Try again in a minute."
    assert found["fine"].verdict is Verdict.OK


async def test_steps_whose_needs_failed_are_skipped_transitively(tmp_path, lab):
    runbook = book(
        tmp_path,
        """
        - {id: failed, action: finding, with: {verdict: fail}}
        - {id: crashed, action: boom}
        - {id: warned, action: finding, with: {verdict: warn}}
        - {id: on_fail, action: sleep, needs: [failed]}
        - {id: on_crash, action: sleep, needs: [crashed]}
        - {id: on_skip, action: sleep, needs: [on_fail]}
        - {id: on_both, action: sleep, needs: [warned, failed, crashed]}
        - {id: on_warn, action: sleep, needs: [warned]}
        """,
    )
    _, report = await start(runbook, lab)
    found = results(report, runbook)
    summaries = {k: r.summary for k, r in found.items() if r.verdict is Verdict.SKIP}
    assert summaries == {
        "on_fail": "Skipped: it needs failed (fail).",
        "on_crash": "Skipped: it needs crashed (error).",
        "on_skip": "Skipped: it needs on_fail (skip).",
        "on_both": "Skipped: it needs failed (fail), crashed (error).",
    }
    assert report.data["steps"]["on_fail"]["start_ms"] is None
    assert found["on_warn"].verdict is Verdict.OK


@pytest.mark.parametrize(
    ("causes", "steps", "ranked"),
    [
        pytest.param(
            "[a, c]",
            """
            - {id: a, action: finding, with: {verdict: warn, title: A, summary: slow queries}}
            - {id: b, action: finding, with: {verdict: fail, title: B, summary: disk full}}
            - {id: c, action: finding, with: {verdict: fail, title: C, summary: bad url}}
            - {id: d, action: finding, with: {verdict: fail, title: D, summary: crash loop}}
            - {id: e, action: boom}
            """,
            ("finding: bad url", "finding: disk full", "finding: crash loop"),
            id="failures_first_and_cause_finders_before_symptoms",
        ),
        pytest.param(
            "[c]",
            """
            - {id: a, action: finding, with: {verdict: warn, title: A, summary: slow}}
            - {id: b, action: finding, with: {verdict: ok, title: B, summary: fine}}
            - {id: c, action: finding, with: {verdict: warn, title: C, summary: stale}}
            - {id: d, action: finding, with: {verdict: fail, title: D, summary: down}}
            - {id: e, action: refuse}
            """,
            ("finding: down", "finding: stale", "finding: slow"),
            id="warnings_after_failures_and_the_rest_left_out",
        ),
        pytest.param(
            "[]",
            """
            - {id: a, action: refuse}
            - {id: b, action: finding, with: {verdict: fail, title: B, summary: down}}
            - {id: c, action: refuse}
            """,
            ("finding: down", "2 steps could not run: Render answered 503"),
            id="then_what_kept_steps_from_running_once",
        ),
    ],
)
async def test_likely_causes_are_ranked(tmp_path, lab, causes, steps, ranked):
    runbook = book(tmp_path, steps, head=f"causes: {causes}\n")
    _, report = await start(runbook, lab)
    assert report.causes == ranked


async def test_the_listener_sees_every_step_go_pending_running_done_then_the_report(tmp_path, lab):
    runbook = book(
        tmp_path,
        """
        - {id: first, action: finding, with: {verdict: fail}}
        - {id: second, action: sleep, with: {seconds: 0.05}}
        - {id: then, action: sleep, needs: [second]}
        - {id: skipped, action: sleep, needs: [first]}
        """,
    )
    seen: dict[str, list[str]] = {s.id: [] for s in runbook.steps}
    reports = []

    def listener(current: Run) -> None:
        reports.append(current.report)
        for step in current.steps:
            states = seen[step.step.id]
            if not states or states[-1] != step.state:
                states.append(step.state)

    prepared = prepare(runbook, "production", {}, lab)
    report = await execute(prepared, lab, listener)
    assert seen == {
        "first": ["pending", "running", "done"],
        "second": ["pending", "running", "done"],
        "then": ["pending", "running", "done"],
        "skipped": ["pending", "done"],
    }
    assert reports[-1] is report
    assert all(r is None for r in reports[:-1])


async def test_run_passes_parameters_into_the_steps_command_lines(mybook):
    ctx = mybook(
        """
        - {id: echo, action: echo, with: {service: "{{ service }}", env: "{{ env }}"}}
        - {id: compare, action: compare, with: {env_a: "{{ other_env }}", env_b: "{{ env }}"}}
        """
    )
    report = await run(ctx, "run mybook production service=api")
    assert isinstance(report, Report)
    assert report.verdict is Verdict.OK
    assert report.data["steps"]["echo"]["label"] == "echo api production"
    assert report.data["steps"]["compare"]["label"] == "compare staging production"
    staging = await run(ctx, "run mybook staging service=worker")
    assert staging.data["steps"]["echo"]["label"] == "echo worker staging"
    assert staging.data["steps"]["compare"]["label"] == "compare production staging"


async def test_each_step_carries_its_command_line_whatever_its_title(mybook):
    ctx = mybook(
        """
        - {id: echo, title: Echo the service, action: echo, with: {service: "{{ service }}"}}
        - {id: compare, action: compare, with: {env_a: "{{ other_env }}", env_b: "{{ env }}"}}
        """
    )
    report = await run(ctx, "run mybook production service=api")
    assert isinstance(report, Report)
    assert report.data["steps"]["echo"]["label"] == "Echo the service"
    assert [s.command for s in report.steps] == ["echo api", "compare staging production"]


async def test_run_refuses_an_unknown_parameter_with_did_you_mean(mybook):
    ctx = mybook('- {id: echo, action: echo, with: {service: "{{ service }}"}}', "{default: api}")
    with pytest.raises(UsageError, match=r"unknown parameter of mybook 'servce'\. Did you mean"):
        await run(ctx, "run mybook production servce=worker")
    report = await run(ctx, "run mybook production")
    assert report.data["steps"]["echo"]["label"] == "echo api"


async def test_run_says_which_parameter_is_missing(mybook):
    ctx = mybook('- {id: echo, action: echo, with: {service: "{{ service }}"}}')
    with pytest.raises(UsageError, match=r"mybook needs service: write service=VALUE"):
        await run(ctx, "run mybook production")


async def test_run_without_an_environment_still_takes_parameters(mybook):
    ctx = mybook('- {id: echo, action: echo, with: {service: "{{ service }}", env: "{{ env }}"}}')
    report = await run(ctx, "run mybook service=api")
    assert report.data["steps"]["echo"]["label"] == "echo api production"


async def test_a_step_that_cannot_be_bound_is_an_error_and_the_others_run(tmp_path, lab):
    runbook = book(
        tmp_path,
        """
        - {id: echo, action: echo, with: {service: "{{ service }}"}}
        - {id: fine, action: sleep}
        """,
        head="parameters:\n  env: {}\n  service: {}\n",
    )
    prepared, report = await start(runbook, lab, service="ghost")
    found = results(report, runbook)
    assert found["echo"].verdict is Verdict.ERROR
    assert found["echo"].summary.startswith("Could not run: <service>: unknown service 'ghost'.")
    assert prepared.steps[0].label == "echo"
    assert found["fine"].verdict is Verdict.OK


async def test_a_service_missing_from_the_environment_is_an_error_and_the_others_run(tmp_path):
    catalog = Catalog.model_validate(
        {
            "environments": {
                "staging": {"services": {"api": {"render": "a-s"}, "worker": {"render": "w-s"}}},
                "production": {"services": {"api": {"render": "a-p"}}},
            }
        }
    )
    ctx = ActionContext(catalog, OURS)
    runbook = book(
        tmp_path,
        """
        - {id: logs, action: logs, with: {service: worker, env: "{{ env }}"}}
        - {id: fine, action: sleep}
        """,
    )
    _, report = await start(runbook, ctx)
    found = results(report, runbook)
    assert found["logs"].verdict is Verdict.ERROR
    assert "service 'worker' is not in environment 'production'" in found["logs"].summary
    assert found["fine"].verdict is Verdict.OK


async def test_a_run_outlasting_its_budget_still_reports_every_step(tmp_path, lab, monkeypatch):
    monkeypatch.setattr(runner, "RUN_SECONDS", 0.3)
    runbook = book(
        tmp_path,
        """
        - {id: quick, action: sleep}
        - {id: slow, action: sleep, with: {seconds: 5}}
        - {id: after, action: sleep, needs: [slow]}
        """,
    )
    started = time.perf_counter()
    _, report = await start(runbook, lab)
    assert time.perf_counter() - started < 2
    found = results(report, runbook)
    assert found["quick"].verdict is Verdict.OK
    for late in ("slow", "after"):
        assert found[late].verdict is Verdict.ERROR
        assert found[late].summary == "Did not finish within the runbook's 0.3 s."


ABOUT_A_SERVICE = """
- {id: survey, action: survey, with: {failing: worker}}
- {id: other, action: finding, with: {service: worker, summary: worker logs a crash loop}}
- {id: own, action: finding, with: {service: "{{ service }}", verdict: ok, summary: fine}}
"""


async def test_a_runbook_about_a_service_judges_by_its_findings_only(mybook) -> None:
    """api-down in FM-030: the worker is failing, the API is healthy. The run about the API
    passes, and the worker's failures are "also noticed", never its cause."""
    ctx = mybook(ABOUT_A_SERVICE)
    api = await run(ctx, "run mybook production service=api")
    assert isinstance(api, Report) and api.about == "api"
    assert api.verdict is Verdict.OK and api.causes == ()
    assert api.noticed == ("worker crashing", "worker: worker logs a crash loop")
    assert api.summary == "no step found anything wrong with api"
    worker = await run(ctx, "run mybook production service=worker")
    assert worker.verdict is Verdict.FAIL and worker.noticed == ()
    assert worker.causes == ("survey: worker crashing", "finding: worker logs a crash loop")


async def test_a_runbook_about_an_environment_judges_by_every_finding(tmp_path, lab) -> None:
    runbook = book(tmp_path, "- {id: survey, action: survey, with: {failing: worker}}")
    _, report = await start(runbook, lab)
    assert report.verdict is Verdict.FAIL and report.noticed == ()
    assert report.causes == ("survey: worker crashing",)


def test_a_likely_cause_is_one_line() -> None:
    long = "production lacks 3 required variables: " + ", ".join(["SOME_LONG_NAME_KEY"] * 12)
    line = causes.one_line(f"envdiff: {long}; production DATABASE_URL is the direct host")
    assert len(line) <= causes.LINE and line.endswith("…") and "DATABASE_URL" not in line
    assert causes.one_line("db: The host x.y does not resolve. Check the name.") == (
        "db: The host x.y does not resolve"
    )


def test_run_json_says_what_the_runbook_is_about_and_what_it_noticed(
    render: FakeRender, fm030: Stack, tmp_path: Path
) -> None:
    """`fracas run run api-down production --json` on FM-030: the API's verdict, and the
    worker's failure under `noticed`, for scripts as for people."""
    settings = stack_settings(render, tmp_path)
    done = fracas(
        "run", "run", "api-down", "production", "--json", cwd=tmp_path,
        RENDER_API_KEY=render.api_key, RENDER_API_URL=render.api_url,
        FRACAS_CATALOG=str(settings.fracas_catalog),
    )  # fmt: skip
    body = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert body["kind"] == "report" and body["verdict"] == "ok" and body["about"] == "api"
    assert body["causes"] == [] and any("worker failing" in n for n in body["noticed"])
