"""The terminal and JSON renderings carry the same content as Slack's."""

from __future__ import annotations

import io
import json

from rich.cells import cell_len
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


# At 80 columns and in a pipe


ENVDIFF = StepResult(
    Verdict.FAIL,
    "Variables of worker: staging vs production",
    "production lacks 3 required variables",
    details=Table(
        ("variable", "staging", "production", "difference"),
        (
            ("SUPABASE_SERVICE_ROLE_KEY", "[secret 90accda5]", "-", "only in staging"),
            ("NEW_RELIC_APP_NAME", "-", "upload-worker", "only in production"),
            (
                "DATABASE_URL",
                "postgresql://postgres.bprtlkidathzrmudbjbe:[secret b61b787c]@aws-0-us-east-1"
                ".pooler.supabase.com:6543/postgres",
                "postgresql://postgres:[secret c2c12e0d]@db.qrvwuxupvzswiutqyqke.supabase.co"
                ":5432/postgres",
                "user postgres.bprtlkidathzrmudbjbe → postgres; port 6543 → 5432",
            ),
        ),
    ),
)
DEPLOYS = StepResult(
    Verdict.FAIL,
    "Deploys of worker (production)",
    "Latest: update_failed 20m ago",
    details=Table(
        ("deploy", "status", "trigger", "started", "took", "commit"),
        (
            ("dep-g11lx50cn5723swwx7rw", "update_failed", "new_commit", "35m ago", "15m", "x"),
            ("dep-jbgbygcrsggmnccibib3", "deactivated", "new_commit", "2d ago", "2m19s", "y"),
        ),
    ),
)
STATUS = StepResult(
    Verdict.FAIL,
    "Status of production",
    "worker failing: deploy update_failed 20m ago: the process exited with code 1",
    details=Table(
        ("service", "state", "health", "latest deploy", "render"),
        (
            (
                "worker",
                "crash-looping",
                "-",
                "update_failed 20m ago (new_commit, bac2380: Encrypt documents at rest)",
                "upload-worker-production (srv-zuflgf34t8qd0s3koirp)",
            ),
            (
                "api",
                "running",
                "HTTP 200 in 23 ms",
                "live 23h ago (new_commit, f988d79: Add /health database ping)",
                "api-service-production (srv-nuu0f62gsbl2qgw3x31y)",
            ),
        ),
    ),
)


def piped(result: StepResult | Report, width: int = 80) -> str:
    out = io.StringIO()
    Console(width=width, file=out).print(render(result))
    return out.getvalue()


def test_at_80_columns_key_columns_and_short_words_are_never_cut() -> None:
    for step, whole in (
        (ENVDIFF, ("SUPABASE_SERVICE_ROLE_KEY", "NEW_RELIC_APP_NAME", "only in production")),
        (DEPLOYS, ("dep-g11lx50cn5723swwx7rw", "update_failed", "new_commit", "2m19s")),
        (STATUS, ("crash-looping", "upload-worker-production", "api-service-production")),
    ):
        out = piped(step)
        assert "…" not in out, out
        for word in whole:
            assert word in out, (word, out)
        assert all(cell_len(line) <= 80 for line in out.splitlines())


def test_no_line_ends_in_padding() -> None:
    report = Report("Worker down in production", (STATUS, ENVDIFF, DEPLOYS), ("a cause",))
    for result in (STEP, STATUS, ENVDIFF, DEPLOYS, report):
        for width in (80, 200):
            lines = piped(result, width).splitlines()
            assert lines and all(line == line.rstrip() for line in lines), result.title


def test_free_text_wraps_in_a_table_when_there_is_room() -> None:
    out = piped(ENVDIFF, 120)
    assert "┃" in out  # a table
    assert " SUPABASE_SERVICE_ROLE_KEY │ [secret 90accda5]  " in out
    assert "postgresql://postgres.bprtlk" in out and "idathzrmudbjbe:" in out  # folded, not cut


def test_with_no_room_for_a_table_each_row_becomes_plain_lines() -> None:
    out = piped(STATUS)
    assert "┃" not in out and "│" not in out
    lines = out.splitlines()
    worker = lines.index("worker   crash-looping  -")
    assert lines[0 : worker + 1][-2] == "service  state          health"
    assert lines[worker + 1].startswith("  latest deploy: update_failed 20m ago")
    assert "  render: upload-worker-production (srv-zuflgf34t8qd0s3koirp)" in lines
    short = piped(ENVDIFF)
    assert "SUPABASE_SERVICE_ROLE_KEY\n  staging: [secret 90accda5] · production: - · " in short


def test_a_key_longer_than_the_console_is_folded_not_cut() -> None:
    key = "X" * 50
    step = StepResult(Verdict.OK, "t", "s", details=Table(("key", "value"), ((key, "v"),)))
    out = piped(step, 30)
    assert out.count("X") == 50 and "…" not in out
