"""The terminal and JSON renderings carry the same content as Slack's."""

from __future__ import annotations

import json

from rich.console import Console

from bot.present.terminal import render
from bot.results import Report, StepResult, Table, Verdict, to_json

STEP = StepResult(
    Verdict.FAIL,
    "envdiff worker",
    "3 required variables missing on production",
    facts=(("only in staging", "3"), ("different", "2"), ("SENTRY_DSN", "[secret 1a2b3c4d]")),
    details=Table(("key", "staging", "production"), (("OPENAI_API_KEY", "fp:1a2b", "[missing]"),)),
    hints=("Set the missing variables on upload-worker-production.",),
    data={"missing": ["OPENAI_API_KEY"]},
)


def text_of(result: StepResult | Report) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(render(result))
    return console.export_text()


def test_a_step_shows_verdict_summary_facts_details_and_hints() -> None:
    out = text_of(STEP)
    assert "FAIL envdiff worker" in out and "3 required variables missing" in out
    assert "only in staging" in out and "OPENAI_API_KEY" in out and "[missing]" in out
    assert "→ Set the missing variables" in out
    assert "[secret 1a2b3c4d]" in out  # a fingerprint is text, not rich markup


def test_a_report_shows_its_causes_then_steps() -> None:
    report = Report("worker-down production", (STEP,), ("required variables missing",))
    out = text_of(report)
    assert out.index("Likely cause") < out.index("envdiff worker")
    assert "FAIL worker-down production" in out


def test_json_is_stable_for_scripts() -> None:
    body = json.loads(to_json(STEP))
    assert body["kind"] == "step" and body["verdict"] == "fail"
    assert body["details"]["rows"] == [["OPENAI_API_KEY", "fp:1a2b", "[missing]"]]
    assert body["data"] == {"missing": ["OPENAI_API_KEY"]}
    report = json.loads(to_json(Report("r", (STEP,))))
    assert report["kind"] == "report" and report["verdict"] == "fail"
