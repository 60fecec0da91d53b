"""A database failure reads the same through every door: one line with the cause and the fix,
in the Slack channel and in the terminal, and the password in neither."""

from __future__ import annotations

from pathlib import Path

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
