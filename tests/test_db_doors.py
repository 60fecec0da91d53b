"""A database failure reads the same through every door: one line with the cause and the fix,
in the Slack channel and in the terminal, and the password in neither."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import db_context
from fakes.pgcluster import SecuredPostgres
from fakes.slack_api import FakeSlack
from test_cli import fracas
from test_slack_app import block_text, command, running, settings_for

WRONG = "Not-The-Right-Pw-42"
CAUSE = "Wrong password for user postgres. Copy the password again (URL-encoded)"


async def test_slack_posts_the_cause_to_the_channel(
    slack: FakeSlack, secured_pg: SecuredPostgres
) -> None:
    ctx = db_context(secured_pg.url(password=WRONG))
    async with running(settings_for(slack), ctx=ctx) as (url, _):
        await command(url, slack, "db production")
        posts = await slack.await_for("chat.postMessage", count=2)
    main = posts[0].args
    assert CAUSE in block_text(main["blocks"]) and CAUSE in main["text"]
    assert "login" in block_text(posts[1].args["blocks"])  # the stages, in the thread
    assert not [p for p in posts if WRONG in str(p.args)]


def test_the_console_prints_the_cause(secured_pg: SecuredPostgres, tmp_path: Path) -> None:
    url = secured_pg.url(password=WRONG)
    done = fracas("run", "db", "production", cwd=tmp_path, PRODUCTION_DATABASE_URL=url)
    assert done.returncode == 1
    assert CAUSE in " ".join(done.stdout.split())
    assert WRONG not in done.stdout + done.stderr


BROKEN_URLS = [
    "postgresql://postgres:Qx7?kL9#wP2@db.example.com:5432/postgres",
    "postgresql://postgres:Qx7/kL9wP2z@db.example.com:5432/postgres",
    "postgresql://postgres:Qx7kL9wP2zz@[::zz]:5432/postgres",
    "postgresql://postgres:Qx7kL9wP2zz@db.example.com:99999/postgres",
    f"postgresql://postgres:Qx7kL9wP2zz@{'a' * 64}.example.com:5432/postgres",
    "Qx7kL9wP2zz-not-a-url-at-all",
]


@pytest.mark.parametrize("url", BROKEN_URLS)
def test_every_database_step_refuses_a_broken_url_by_what_breaks_it(
    url: str, tmp_path: Path
) -> None:
    """One URL check for db, schema and stuck: a named failure, never an internal error, and
    no piece of the password in the answer or the log."""
    for step in ("db", "schema", "stuck"):
        done = fracas("run", step, "production", "--json", cwd=tmp_path,
                      PRODUCTION_DATABASE_URL=url)  # fmt: skip
        answer = json.loads(done.stdout)
        assert done.returncode == 1, (step, done.stdout, done.stderr)
        assert answer["verdict"] == "fail", (step, answer)
        assert "internal error" not in done.stdout, step
        for piece in ("Qx7", "kL9", "wP2"):
            assert piece not in done.stdout + done.stderr, (step, done.stdout + done.stderr)
