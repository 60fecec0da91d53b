"""Incidents at the terminal doors, as real processes: a whole incident in `fracas demo
--incident`, the console keeping one in the store and `fracas report FM-31` printing it,
and `fracas check` refusing a report template that cannot write a report."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from bot.sandbox.fm030 import load_fm030
from bot.sandbox.render_api import FakeRender

from test_cli import EXAMPLE, fracas

SECTIONS = ("## 1. Failure summary", "## 5. Findings", "## 6. Root cause", "## 10. Measures")


def test_the_demo_runs_a_whole_incident_and_writes_its_report(tmp_path: Path) -> None:
    done = fracas("demo", "--incident", cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "FM-31 opened" in out and "FM-31 is resolved" in out
    assert "(on FM-31's timeline)" in out, "the runbook's findings went on the timeline"
    report = out[out.index("# FM-31: Production worker down") :]
    assert all(section in report for section in SECTIONS)
    assert "Root cause: the worker's DATABASE_URL is Supabase's IPv6-only direct host" in " ".join(
        report.split()
    )
    assert "lacks 3 required" in report and "- [x] The incident is resolved" in report
    with FakeRender() as fake:
        secrets = load_fm030(fake).secrets
    leaked = [label for label, value in secrets.items() if value in out + done.stderr]
    assert not leaked, f"secrets shown by the demo: {leaked}"
    assert not list(tmp_path.iterdir()), "the demo leaves nothing behind"


def test_an_incident_kept_at_the_console_is_printed_by_fracas_report(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "incident open API returns 502 --sev P1 --env staging",
            "note impact: uploads failed for 20 minutes",
            "note cause: the pooler rejected the password (SCRAM)",
            "note action: rotated the database password on Render",
            "incident status resolved",
            "exit",
        ]
    )
    store = f"sqlite:///{tmp_path}/fracas.db"
    assert fracas("console", stdin=script, cwd=tmp_path, FRACAS_STORE_URL=store).returncode == 0
    done = fracas("report", "FM-31", cwd=tmp_path, FRACAS_STORE_URL=store)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# FM-31: API returns 502\n")
    assert "- uploads failed for 20 minutes" in done.stdout
    assert "rotated the database password" in done.stdout
    latest = fracas("report", cwd=tmp_path, FRACAS_STORE_URL=store)  # no id: the last one
    assert latest.stdout.startswith("# FM-31: API returns 502\n")
    missing = fracas("report", "FM-99", cwd=tmp_path, FRACAS_STORE_URL=store)
    assert missing.returncode == 1 and "There is no incident FM-99." in missing.stderr
    assert missing.stdout == ""


def test_check_refuses_a_report_template_that_cannot_write_a_report(tmp_path: Path) -> None:
    catalog = yaml.safe_load(EXAMPLE.read_text())
    catalog["incidents"]["template"] = "ours.md.j2"
    (tmp_path / "fracas.yaml").write_text(yaml.safe_dump(catalog))
    (tmp_path / "ours.md.j2").write_text("# {{ a.incident.id }}\n{{ a.incident.titel }}\n")
    done = fracas("check", cwd=tmp_path, FRACAS_CATALOG=str(tmp_path / "fracas.yaml"))
    out = " ".join(done.stdout.split())
    assert done.returncode == 1
    assert f"report template: incidents.template {tmp_path / 'ours.md.j2'}: line 2:" in out
    assert "has no attribute 'titel'" in out
    shutil.copy(
        Path(__file__).parents[2] / "bot/incidents/templates/fracas.md.j2", tmp_path / "ours.md.j2"
    )
    fixed = fracas("check", cwd=tmp_path, FRACAS_CATALOG=str(tmp_path / "fracas.yaml"))
    assert f"report template: {tmp_path / 'ours.md.j2'} writes a report" in " ".join(
        fixed.stdout.split()
    )
