"""The FRACAS report from a timeline: its figures come from the entries (and say so), a cause
fracas only suspects is marked unconfirmed, a team's own template is checked before it is
needed, and what comes out is redacted once more."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.errors import FracasError
from bot.incidents import report
from bot.incidents.analysis import analyse
from bot.incidents.model import Entry, Incident, Kind
from bot.redact import Redactor
from bot.results import Verdict

T = 1_764_000_000.0  # a moment in 2025
INCIDENT = Incident(
    31,
    "FM",
    "Production worker down",
    "P0",
    "resolved",
    "<@U1>",
    T,
    "production",
    resolved_at=T + 3600,
)


def run(key: str, at: float, verdict: Verdict, *steps: tuple[str, Verdict, str]) -> list[Entry]:
    """A runbook's command entry and its steps, as bot.incidents.record writes them."""
    head = Entry(
        Kind.COMMAND,
        at,
        "envdiff: 3 variables missing",
        key,
        "<@U1>",
        verdict,
        lines=("envdiff: 3 variables missing", "also noticed: api slow"),
        command="run worker-down production",
    )
    return [
        head,
        *(
            Entry(Kind.FINDING, at, text, f"{key}:step:{i}", "fracas", v, command=command)
            for i, (command, v, text) in enumerate(steps)
        ),
    ]


def timeline() -> list[Entry]:
    return [
        Entry(Kind.PIN, T - 600, "worker restarted 6 times", "p1", "<@U2>"),
        Entry(
            Kind.PIN,
            T - 300,
            "[FIRING:1] CONFIGURATION_ERROR_FATAL",
            "p2",
            "Alertmanager",
            by_integration=True,
        ),
        Entry(Kind.OPENED, T, "FM-31 opened", "opened", "<@U1>"),
        *run(
            "a",
            T + 60,
            Verdict.FAIL,
            ("envdiff worker staging production", Verdict.FAIL, "3 missing"),
            ("status production", Verdict.WARN, "api slow"),
        ),
        Entry(Kind.STATUS, T + 900, "investigating → identified: pooler", "s1", "<@U1>"),
        Entry(Kind.NOTE, T + 1200, "DATABASE_URL is the direct host", "n1", "<@U1>", tag="cause"),
        *run("b", T + 3000, Verdict.OK, ("envdiff worker staging production", Verdict.OK, "same")),
        Entry(Kind.STATUS, T + 3600, "identified → resolved", "s2", "<@U1>"),
    ]


def test_the_three_times_come_from_the_timeline() -> None:
    facts = analyse(INCIDENT, timeline())
    assert facts.detection is not None and facts.detection.author == "Alertmanager"
    assert facts.to_detect == timedelta(seconds=300)  # first sign (a pin) to the alert
    assert facts.to_identify == timedelta(seconds=1200)  # the alert to status identified
    assert facts.to_resolve == timedelta(seconds=3900)


def test_without_an_alert_detection_is_the_opening_and_unreached_times_say_so() -> None:
    entries = [
        e
        for e in timeline()
        if not e.by_integration and e.kind is not Kind.STATUS and e.tag != "cause"
    ]
    facts = analyse(replace(INCIDENT, status="monitoring", resolved_at=None), entries)
    assert facts.detection is None and facts.detected_at == T
    assert facts.to_identify is None and facts.to_resolve is None
    text = report.write(
        replace(INCIDENT, status="monitoring", resolved_at=None), entries, Redactor()
    )
    assert "No alert is on the timeline: the incident was opened by @U1" in text
    assert "| Time to resolve | not reached |" in text


def test_a_check_that_failed_is_ticked_once_a_later_run_of_it_passed() -> None:
    criteria = {c.text.split(" passes")[0]: c.met for c in analyse(INCIDENT, timeline()).criteria}
    assert criteria == {
        "`envdiff worker staging production`": True,
        "`status production`": False,
        "The incident is resolved": True,
    }


def test_without_a_cause_note_the_likely_causes_are_marked_unconfirmed() -> None:
    entries = [e for e in timeline() if e.tag != "cause"]
    text = report.write(INCIDENT, entries, Redactor())
    assert "envdiff: 3 variables missing *(likely, unconfirmed)*" in text
    assert "not confirmed by a `cause:` note" in text
    assert "api slow *(likely" not in text, "what was also noticed is never a cause"
    noted = report.write(INCIDENT, timeline(), Redactor())
    assert "Root cause: DATABASE_URL is the direct host." in noted and "unconfirmed" not in noted


def test_slack_markup_reads_as_text_and_table_cells_stay_cells() -> None:
    assert report.plain("<@U0123|ann> in <#C0456> via <https://x.io/a|the runbook>") == (
        "@ann in #C0456 via [the runbook](https://x.io/a)"
    )
    assert report.cell("a | b\nc") == "a \\| b c"
    entries = [Entry(Kind.NOTE, T, "pipes | and\nnewlines", "n", "<@U1>")]
    text = report.write(INCIDENT, entries, Redactor())
    assert "| pipes \\| and newlines |" in text


def test_what_comes_out_is_redacted_once_more() -> None:
    redactor = Redactor()
    redactor.learn("hunter2-db-password-0042")
    incident = replace(INCIDENT, title="postgres://u:hunter2-db-password-0042@h/db is down")
    text = report.write(incident, [], redactor)
    assert "hunter2-db-password-0042" not in text and "# FM-31:" in text


def test_the_built_in_template_passes_its_own_check() -> None:
    assert report.check(report.BUILTIN) is None


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("# {{ a.incident.id }\n", "line 1: unexpected '}'"),
        ("{{ a.incident.id }}\n{{ a.nonsense }}\n", "has no attribute 'nonsense'"),
        ("{% for x in a.timeline %}\n", "line 1"),
        ("{{ a.incident.__class__.__mro__ }}", "unsafe"),
    ],
)
def test_a_team_template_that_cannot_write_a_report_is_refused(
    tmp_path: Path, source: str, problem: str
) -> None:
    template = tmp_path / "ours.md.j2"
    template.write_text(source)
    found = report.check(template)
    assert found is not None and problem in found
    with pytest.raises(FracasError, match=r"ours\.md\.j2 failed"):
        report.write(INCIDENT, timeline(), Redactor(), template)


def test_a_team_template_writes_the_report_its_way(tmp_path: Path) -> None:
    template = tmp_path / "ours.md.j2"
    template.write_text(
        "{{ a.incident.id }} | {{ a.to_resolve | span }}\n"
        "{% for e in a.timeline %}{{ e.at | clock }} {{ e | what }}\n{% endfor %}"
    )
    assert report.check(template) is None
    text = report.write(INCIDENT, timeline(), Redactor(), template)
    assert text.startswith("FM-31 | 1 h 5 min\n") and "alert (pinned)" in text
    assert (
        report.check(
            tmp_path / "missing.j2",
        )
        is not None
    )
