"""`status` and its neighbours as a person reads them: the demo piped at 80 columns, and
`fracas run ... --json` for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from rich.cells import cell_len

from bot.sandbox.fm030 import Stack
from bot.sandbox.render_api import FakeRender

from conftest import stack_settings
from test_cli import fracas

SCRIPT = ("status production", "logs worker production", "envdiff worker", "deploys worker")


def demo_at_80(tmp_path: Path) -> dict[str, str]:
    """What each scripted command printed, piped, on an 80-column console."""
    script = tmp_path / "tour.txt"
    script.write_text("\n".join(SCRIPT) + "\n")
    done = fracas("demo", "--script", str(script), cwd=tmp_path, COLUMNS="80")
    assert done.returncode == 0, done.stderr
    answers = done.stdout.split("fracas> ")[1:]
    return {answer.split("\n", 1)[0]: answer.split("\n", 1)[1] for answer in answers}


def test_the_demo_at_80_columns_in_a_pipe(tmp_path: Path) -> None:
    out = demo_at_80(tmp_path)
    status, logs = out["status production"], out["logs worker production"]
    flat = " ".join(status.split())  # the summary wraps
    # 1. the two counts say what they count
    assert "Render recorded 6 crashes (server_failed) in the last hour" in flat
    assert "logged 30 times in 1h" in " ".join(logs.split())
    # 2. the crash-looping worker is not `running`
    worker = next(line for line in status.splitlines() if line.startswith("worker "))
    assert worker.split()[1] == "crash-looping"
    # 3. each fact once: the summary names the failure, the table holds the deploy
    for fact in ("the process exited with code 1", "Encrypt documents at rest", "6 crashes"):
        assert flat.count(fact) == 1, fact
    # 4. nothing cut, nothing padded, nothing wider than the console
    for key in ("SUPABASE_SERVICE_ROLE_KEY", "update_failed", "upload-worker-production"):
        assert key in out["envdiff worker"] + out["deploys worker"] + status, key
    for command, answer in out.items():
        if command != "logs worker production":  # its patterns are cut at 160 by design
            assert "…" not in answer, command
        for line in answer.splitlines():
            assert line == line.rstrip(), (command, line)
            assert cell_len(line) <= 80, (command, line)


def test_run_status_json_keeps_every_fact(render: FakeRender, fm030: Stack, tmp_path: Path) -> None:
    settings = stack_settings(render, tmp_path)
    done = fracas(
        "run",
        "status",
        "production",
        "--json",
        cwd=tmp_path,
        RENDER_API_KEY=render.api_key,
        RENDER_API_URL=render.api_url,
        FRACAS_CATALOG=str(settings.fracas_catalog),
    )
    assert done.returncode == 1, done.stderr  # the verdict is fail
    body = json.loads(done.stdout)
    assert body["facts"] == []
    worker = body["data"]["services"]["worker"]
    assert worker["state"] == "crash-looping" and worker["crashes_last_hour"] == 6
    assert worker["render"]["id"] == fm030.services["upload-worker-production"]["id"]
    assert worker["latest_deploy"]["id"] == fm030.failed_deploy["id"]
    assert body["details"]["columns"][:2] == ["service", "state"]
    assert [f["service"] for f in body["findings"]] == ["worker", "api"]
