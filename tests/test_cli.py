"""The terminal doors and process commands, driven as a user drives them: as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bot.sandbox.fm030 import Stack, load_fm030
from bot.sandbox.render_api import FakeRender

from conftest import ENV, EXAMPLE
from fakes.slack_api import FakeSlack, signed_headers, slash_command_body

FRACAS = str(Path(sys.executable).parent / "fracas")


def environ(**extra: str) -> dict[str, str]:
    """A clean environment: nothing of ours leaks in from the developer's shell."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "RENDER_", "FRACAS_", "PORT"))
    }
    return {
        **base,
        "FRACAS_CATALOG": str(EXAMPLE),
        **ENV,
        "NO_COLOR": "1",
        "COLUMNS": "200",
        **extra,
    }


def fracas(*args: str, stdin: str = "", cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FRACAS, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ(**env),
        timeout=60,
    )


def test_console_answers_like_slack(tmp_path: Path) -> None:
    done = fracas(
        "console",
        stdin="help\nstauts production\ntimeline\nhelp logs\nexit\n",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "fracas console" in out and "staging, production" in out
    assert "fracas commands" in out
    assert "Did you mean 'status'?" in out
    assert "There is no incident yet." in out
    assert not (tmp_path / "fracas.db").exists()  # asking made no store
    assert "--since" in out and "(default 1h)" in out


def test_console_ends_on_end_of_input(tmp_path: Path) -> None:
    done = fracas("console", stdin="help\n", cwd=tmp_path)
    assert done.returncode == 0 and "fracas commands" in done.stdout


def test_console_works_offline_without_a_catalog(tmp_path: Path) -> None:
    done = fracas(
        "console",
        stdin="help\nlogs worker\n",
        cwd=tmp_path,
        FRACAS_CATALOG=str(tmp_path / "none.yaml"),
    )
    assert done.returncode == 0
    assert "not found" in done.stdout and "none in the catalog" in done.stdout


@pytest.mark.parametrize(
    ("words", "code", "expected"),
    [
        (["help"], 0, "fracas commands"),
        (["help", "incident"], 0, "incident open <title...>"),
        (["stauts"], 2, "Did you mean 'status'?"),
        (["help", "wat"], 2, "unknown command 'wat'"),
        (["report"], 1, "There is no incident yet."),
        (["run", "wroker-down"], 2, "Did you mean 'worker-down'?"),
        (["incident", "open", "DB down", "--sev", "P9"], 2, "--sev"),
    ],
)
def test_run_exit_codes(words: list[str], code: int, expected: str, tmp_path: Path) -> None:
    done = fracas("run", *words, cwd=tmp_path)
    assert done.returncode == code
    assert expected in done.stdout


def test_run_json(tmp_path: Path) -> None:
    ok = fracas("run", "help", "logs", "--json", cwd=tmp_path)
    body = json.loads(ok.stdout)
    assert body["kind"] == "step" and body["verdict"] == "info" and body["title"] == "help: logs"
    refused = fracas("run", "stauts", "--json", cwd=tmp_path)
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["kind"] == "error"


def test_a_broken_catalog_is_refused_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "fracas.yaml"
    bad.write_text(
        "default_env: prod\nenvironments:\n  staging:\n    services:\n      api: {rendr: x}\n"
    )
    done = fracas("run", "help", cwd=tmp_path, FRACAS_CATALOG=str(bad))
    assert done.returncode == 2
    assert f"{bad}:5: environments.staging.services.api.render: required key is missing" in (
        done.stderr
    )
    assert f"{bad}:5: environments.staging.services.api.rendr: unknown key" in done.stderr


def manifest(tmp_path: Path, *args: str) -> dict[str, Any]:
    done = fracas("manifest", *args, cwd=tmp_path)
    assert done.returncode == 0
    return yaml.safe_load(done.stdout)


def test_manifest_http_mode(tmp_path: Path) -> None:
    data = manifest(tmp_path, "--url", "https://fracas.example.com/")
    command = data["features"]["slash_commands"][0]
    assert command["command"] == "/fracas"
    assert command["url"] == "https://fracas.example.com/slack/events"
    assert len(command["usage_hint"]) <= 1000 and len(command["description"]) <= 2000
    assert set(data["oauth_config"]["scopes"]["bot"]) >= {
        "commands",
        "chat:write",
        "files:write",
        "reactions:read",
        "channels:manage",
        "pins:write",
    }
    settings = data["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["reaction_added", "reaction_removed"]
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://fracas.example.com/slack/events",
    }
    assert settings["socket_mode_enabled"] is False
    assert len(data["display_information"]["name"]) <= 35
    assert len(data["display_information"]["description"]) <= 140


def test_manifest_socket_mode(tmp_path: Path) -> None:
    data = manifest(tmp_path, "--socket")
    assert data["settings"]["socket_mode_enabled"] is True
    assert "url" not in data["features"]["slash_commands"][0]
    assert "request_url" not in data["settings"]["interactivity"]


@pytest.fixture
def fakes() -> Any:
    with FakeSlack() as slack, FakeRender() as render:
        yield slack, render


POOLER_URL = "postgresql://postgres.abcdefghij:pw@aws-0-us-east-1.pooler.supabase.com:5432/postgres"


def good_env(slack: FakeSlack, render: FakeRender) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-fake",
        "SLACK_SIGNING_SECRET": "s3cret",
        "SLACK_API_URL": slack.api_url,
        "RENDER_API_KEY": "rnd_fakekey",
        "RENDER_API_URL": render.api_url,
        "PRODUCTION_DATABASE_URL": POOLER_URL,
    }


def fm030_fixed(render: FakeRender) -> Stack:
    """The example catalog's services on the Render stand-in, FM-030's cause fixed: the
    production worker's DATABASE_URL on the pooler."""
    stack = load_fm030(render)
    render.set_env(stack.services["upload-worker-production"]["id"], {"DATABASE_URL": POOLER_URL})
    return stack


def test_check_passes_when_all_is_well(fakes: Any, tmp_path: Path) -> None:
    slack, render = fakes
    fm030_fixed(render)
    done = fracas("check", cwd=tmp_path, **good_env(slack, render))
    assert done.returncode == 0, done.stdout
    assert "authenticated as @fracas" in done.stdout
    assert "reachable, workspace Insurance Navigator; all 4 services of the catalog" in done.stdout
    assert "All good." in done.stdout
    assert "lacks" not in done.stdout


def test_check_warns_of_scopes_the_installed_app_lacks(fakes: Any, tmp_path: Path) -> None:
    """An app installed before incidents landed has no pins:write: what stops working."""
    slack, render = fakes
    fm030_fixed(render)
    slack.revoke("pins:write")
    slack.revoke("channels:manage")
    done = fracas("check", cwd=tmp_path, **good_env(slack, render))
    out = " ".join(done.stdout.split())
    assert done.returncode == 0, "a warning, not a problem"
    assert "Slack API: scopes: the app lacks channels:manage, pins:write" in out
    assert "incidents live in the channel they are opened in; an incident's header" in out


def test_check_names_catalog_services_render_does_not_have(fakes: Any, tmp_path: Path) -> None:
    slack, render = fakes
    render.add_service("api-service-production")
    done = fracas("check", cwd=tmp_path, **good_env(slack, render))
    out = " ".join(done.stdout.split())
    assert done.returncode == 1
    assert (
        "environments.staging.services.worker.render: 'upload-worker-staging': Render has no "
        "service named 'upload-worker-staging'"
    ) in out
    assert "3 problems found." in out


def test_check_reports_every_problem_at_once(fakes: Any, tmp_path: Path) -> None:
    slack, _ = fakes
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connection refused
    env = {
        "SLACK_BOT_TOKEN": "xoxb-revoked",
        "SLACK_API_URL": slack.api_url,
        "RENDER_API_KEY": "rnd_fakekey",
        "RENDER_API_URL": f"http://127.0.0.1:{closed.getsockname()[1]}/v1",
        "PRODUCTION_DATABASE_URL": "",
        "STAGING_DATABASE_URL": "postgresql://postgres.ref:Pa55#word-xyz@pooler.example.com:6543/postgres",
    }
    started = time.monotonic()
    done = fracas("check", cwd=tmp_path, **env)
    closed.close()
    out = done.stdout
    assert done.returncode == 1
    assert "SLACK_SIGNING_SECRET: not set" in out
    assert "${PRODUCTION_DATABASE_URL} is not set" in out
    assert "auth.test: refused: invalid_auth" in out
    assert "cannot reach Render" in out
    assert (
        f"{EXAMPLE}:10: environments.staging.database_url (${{STAGING_DATABASE_URL}}): the "
        "password in DATABASE_URL has an unencoded '#'"
    ) in (" ".join(out.split()))
    assert "5 problems found." in out
    assert "Pa55#word-xyz" not in out
    assert time.monotonic() - started < 20
    assert "xoxb-revoked" not in out + done.stderr


def test_check_names_every_problem_of_a_runbook_file(fakes: Any, tmp_path: Path) -> None:
    slack, render = fakes
    fm030_fixed(render)
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "mine.yaml").write_text(
        "name: mine\ntitle: Mine\nsteps:\n"
        "  - {id: a, action: stauts, with: {env: '{{ env }}'}, needs: [b]}\n"
        "  - {id: b, action: logs, with: {service: wroker}, needs: [a]}\n"
    )
    done = fracas("check", cwd=tmp_path, **good_env(slack, render))
    out = " ".join(done.stdout.split())
    assert done.returncode == 1
    assert "runbooks/mine.yaml:4: steps.0.action: unknown action 'stauts'." in out
    assert "Did you mean 'status'?" in out
    assert "runbooks/mine.yaml:4: steps.0.needs: needs form a cycle: a → b → a" in out
    assert "2 problems found." in out


def test_check_names_a_refused_render_key(fakes: Any, tmp_path: Path) -> None:
    slack, render = fakes
    env = {**good_env(slack, render), "RENDER_API_KEY": "rnd_wrong"}
    done = fracas("check", cwd=tmp_path, **env)
    assert done.returncode == 1
    assert "Render answered 401: unauthorized (Render-Request-Id api-fake/req-" in done.stdout
    assert "RENDER_API_KEY was refused" in done.stdout
    assert "rnd_wrong" not in done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_slack_and_stops_cleanly(fakes: Any, tmp_path: Path) -> None:
    slack, render = fakes
    port = free_port()
    env = environ(**good_env(slack, render), PORT=str(port), FRACAS_HOST="127.0.0.1")
    proc = subprocess.Popen(
        [FRACAS, "serve"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:  # 503 until the first worker's heartbeat, a moment after start
            try:
                if httpx.get(f"{url}/healthz").json()["ok"] is True:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "did not start"
            time.sleep(0.1)
        body = slash_command_body("help", response_url=slack.new_response_url())
        reply = httpx.post(
            f"{url}/slack/events", content=body, headers=signed_headers(body, "s3cret")
        )
        assert reply.status_code == 200 and "fracas commands" in reply.text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "s3cret" not in err and "xoxb-fake" not in err


def test_serve_refuses_to_start_without_tokens(tmp_path: Path) -> None:
    done = fracas("serve", cwd=tmp_path)
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN: not set" in done.stderr


def test_a_worker_refuses_to_start_without_the_bot_token(tmp_path: Path) -> None:
    done = fracas("worker", cwd=tmp_path)
    assert done.returncode == 2
    assert "SLACK_BOT_TOKEN: not set: a worker posts results with it" in done.stderr


def test_migrate_sets_up_the_store_once(tmp_path: Path) -> None:
    first = fracas("migrate", cwd=tmp_path)
    again = fracas("migrate", cwd=tmp_path)
    assert first.returncode == again.returncode == 0, first.stderr
    assert "store sqlite:///fracas.db: applied 0001" in first.stdout
    assert "already up to date" in again.stdout


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_check_does_not_count_a_skipped_check_as_a_problem(fakes: Any, tmp_path: Path) -> None:
    slack, render = fakes
    fm030_fixed(render)
    env = good_env(slack, render)
    env.pop("SLACK_BOT_TOKEN")
    done = fracas("check", cwd=tmp_path, **env)
    out = one_line(done.stdout)
    assert "✖ Slack settings: SLACK_BOT_TOKEN: not set" in out
    assert "» Slack API: auth.test not tried: no bot token" in out
    assert "✖ Slack API" not in out
    assert "1 problem found (1 check skipped)." in out
    assert done.returncode == 1  # for the missing token, once


def test_check_names_the_fm030_cause_by_its_host_name(fakes: Any, tmp_path: Path) -> None:
    slack, render = fakes
    stack = load_fm030(render)  # the production worker's DATABASE_URL is on the direct host
    ref = stack.refs["production"]
    env = {**good_env(slack, render), "PRODUCTION_DATABASE_URL": ENV["PRODUCTION_DATABASE_URL"]}
    done = fracas("check", cwd=tmp_path, **env)  # judged by the names: no lookups
    out = one_line(done.stdout)
    assert done.returncode == 1
    fix = "Use Supabase's Supavisor pooler URL instead (user postgres.<ref>, host aws-0-<region>"
    assert (
        f"{EXAMPLE}:15: environments.production.database_url (${{PRODUCTION_DATABASE_URL}}): "
        "host db.abcdefghij.supabase.co is Supabase's direct host, which has only an IPv6 "
        "address unless the project bought the IPv4 add-on (judged by its name, not looked "
        f"up), and Render has no outbound IPv6 (incident FM-030). {fix}"
    ) in out
    assert (
        "environments.production.services.worker (upload-worker-production) DATABASE_URL: "
        f"host db.{ref}.supabase.co is Supabase's direct host"
    ) in out
    assert out.count("Supabase's direct host") == 2  # the staging pooler URLs are fine
    assert "2 problems found." in out
    assert all(secret not in done.stdout for secret in stack.secrets.values())


def test_check_points_at_the_env_file_line_of_a_variable(tmp_path: Path) -> None:
    url = "postgresql://postgres.ref:Pa55#word-xyz@pooler.example.com:6543/postgres"
    (tmp_path / ".env").write_text(f"# local settings\nSTAGING_DATABASE_URL={url}\n")
    env = environ()
    env.pop("STAGING_DATABASE_URL")
    done = subprocess.run(
        [FRACAS, "check"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60
    )
    out = one_line(done.stdout)
    assert (
        f"{EXAMPLE}:10: environments.staging.database_url (${{STAGING_DATABASE_URL}}, set at "
        ".env:2): the password in DATABASE_URL has an unencoded '#'"
    ) in out
    assert "Pa55#word-xyz" not in out


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--url", "fracas.example.com"], {}),
        (["--url", "http://fracas.example.com"], {}),
        ([], {"RENDER_EXTERNAL_URL": "fracas.example.com"}),
    ],
)
def test_manifest_refuses_a_url_without_https(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    done = fracas("manifest", *args, cwd=tmp_path, **env)
    assert done.returncode == 2
    assert done.stdout == ""
    said = one_line(done.stderr)
    assert "does not start with https://: Slack sends requests only to HTTPS URLs." in said
    assert "Try https://fracas.example.com" in said
    assert said.startswith("--url:" if args else "RENDER_EXTERNAL_URL:")


def test_run_help_mentions_json_and_lists_the_commands(tmp_path: Path) -> None:
    done = fracas("run", "--help", cwd=tmp_path)
    assert done.returncode == 0
    out = one_line(done.stdout)
    assert "--json" in out and "print the result as JSON" in out
    assert (
        "db, deploys, envdiff, health, help, incident, incidents, jobs, logs, note, report" in out
    )


def test_run_json_before_or_after_the_command(tmp_path: Path) -> None:
    for args in (["--json", "help", "logs"], ["help", "logs", "--json"]):
        done = fracas("run", *args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["title"] == "help: logs"


def test_run_help_shows_the_default_environment(tmp_path: Path) -> None:
    done = fracas("run", "help", "status", cwd=tmp_path)
    assert "(default production, the catalog's default_env)" in one_line(done.stdout)


def test_a_pasted_slash_command_works_at_the_terminal(fakes: Any, tmp_path: Path) -> None:
    slack, render = fakes
    load_fm030(render)
    env = good_env(slack, render)
    for args in (["/fracas", "status", "production"], ["/fracas status production"]):
        done = fracas("run", *args, "--json", cwd=tmp_path, **env)
        assert json.loads(done.stdout)["title"] == "Status of production", done.stdout
    done = fracas(
        "console", stdin="/fracas status production\n/fracas help logs\n", cwd=tmp_path, **env
    )
    out = one_line(done.stdout)
    assert "Status of production" in out and "help: logs" in out
    assert "unknown command" not in out


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["status", "prod"], "unknown environment 'prod'. Did you mean 'production'?"),
        (
            ["logs", "worker", "production", "--level", "eror"],
            "`--level eror` is not a level. "
            "Did you mean 'error'? (known: debug, error, info, warning)",
        ),
        (["bogus"], "unknown command 'bogus'. (known: db, deploys, envdiff, health, help, "),
    ],
)
def test_run_did_you_mean_only_for_what_is_close(
    words: list[str], expected: str, tmp_path: Path
) -> None:
    done = fracas("run", *words, "--json", cwd=tmp_path)
    assert done.returncode == 2
    assert expected in json.loads(done.stdout)["message"]


def test_run_a_quoted_option_value_after_the_equals_sign(fakes: Any, tmp_path: Path) -> None:
    slack, render = fakes
    load_fm030(render)
    env = good_env(slack, render)
    for grep, text in (
        ("--grep='connection refused'", "connection refused"),
        ('--grep="a b"', "a b"),
    ):
        done = fracas("run", f"logs worker {grep}", "--json", cwd=tmp_path, **env)
        body = json.loads(done.stdout)
        assert body["title"] == "Logs of worker (production), last 1h", body
        assert f"(containing '{text}')" in dict(body["facts"])["events kept"]


def test_run_ages_read_like_a_person_says_them(fakes: Any, tmp_path: Path) -> None:
    slack, render = fakes
    load_fm030(render)
    done = fracas(
        "run", "deploys", "worker", "production", "--json", cwd=tmp_path, **good_env(slack, render)
    )
    body = json.loads(done.stdout)
    rows = body["details"]["rows"]
    assert [row[3] for row in rows] == ["35m ago", "2d ago", "6d ago"]
    assert [row[4] for row in rows] == ["15m", "2m19s", "2m37s"]  # how long each took: exact
    assert "last good before it" in done.stdout and "deactivated 2d ago" in done.stdout


def test_check_warns_of_a_sqlite_store_on_render_and_names_an_unreachable_one(
    tmp_path: Path,
) -> None:
    on_render = fracas("check", cwd=tmp_path, RENDER="true")
    said = one_line(on_render.stdout)
    assert "✔ store: sqlite:///fracas.db: a new file, made at the first `fracas serve`" in said
    assert "! store: FRACAS_STORE_URL: SQLite on Render: the disk is wiped at every deploy" in said
    assert "use a Render PostgreSQL" in said
    elsewhere = one_line(fracas("check", cwd=tmp_path).stdout)
    assert "SQLite on Render" not in elsewhere
    url = f"postgresql://fracas:hunter2-not-shown@127.0.0.1:{free_port()}/fracas"
    down = fracas("check", cwd=tmp_path, FRACAS_STORE_URL=url)
    said = one_line(down.stdout)
    assert "✖ store: FRACAS_STORE_URL: unreachable: " in said and "Connect call failed" in said
    assert "hunter2-not-shown" not in down.stdout + down.stderr
    junk = fracas("check", cwd=tmp_path, FRACAS_STORE_URL="mysql://nope/x")
    assert "✖ store: FRACAS_STORE_URL: must start with sqlite:/// or postgresql://" in one_line(
        junk.stdout
    )
