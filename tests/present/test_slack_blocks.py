"""Any result renders within Slack's limits, and nothing cut from a post is lost."""

from __future__ import annotations

import html
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.present.slack import (
    BUTTON_VALUE,
    FULL_LOGS,
    MESSAGE_CHARS,
    SlackMessage,
    render_post,
    render_problem,
    render_reply,
)
from bot.results import Attachment, Report, StepResult, Table, Verdict

from fakes.slack_api import block_errors

PIECES = ["a", "word ", "&", "<@U1>", "é", "```", "😀", "\n", "*bold*", "x" * 97]


def texts(max_repeat: int) -> st.SearchStrategy[str]:
    """Short random text, or long text built from awkward pieces (escapes, emoji, fences)."""
    repeated = st.builds(lambda p, n: p * n, st.sampled_from(PIECES), st.integers(0, max_repeat))
    return st.one_of(st.text(max_size=40), repeated)


steps = st.builds(
    StepResult,
    verdict=st.sampled_from(list(Verdict)),
    title=texts(300),
    summary=texts(4000),
    facts=st.lists(st.tuples(texts(50), texts(2500)), max_size=30).map(tuple),
    details=st.one_of(
        st.lists(texts(400), max_size=300).map(tuple),
        st.builds(
            lambda rows: Table(("a", "b"), tuple(rows)),
            st.lists(st.tuples(texts(100), texts(100)), max_size=200),
        ),
    ),
    hints=st.lists(texts(800), max_size=15).map(tuple),
    attachments=st.lists(st.builds(Attachment, st.just("f.txt"), texts(10)), max_size=2).map(tuple),
)
reports = st.builds(
    Report,
    title=texts(300),
    steps=st.lists(steps, min_size=1, max_size=12).map(tuple),
    causes=st.lists(texts(500), max_size=6).map(tuple),
)


def assert_within_limits(message: SlackMessage) -> None:
    payload = message.payload()  # to_dict() runs slack_sdk's own validation too
    assert 0 < len(payload["text"]) <= 40_000
    assert len(payload["blocks"]) <= 50
    assert block_errors(payload["blocks"]) == []
    assert len(json.dumps(payload["blocks"], ensure_ascii=False)) <= MESSAGE_CHARS


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(steps, reports))
def test_every_message_of_a_post_fits_slack(result: StepResult | Report) -> None:
    post = render_post(result, "`/fracas x` · <@U0CALLER>")
    for message in (post.main, *post.thread):
        assert_within_limits(message)
    assert_within_limits(render_reply(result, "`/fracas x`"))


def visible(messages: list[SlackMessage]) -> str:
    """The text a reader sees, with Slack's escapes and our fence guard undone."""
    out = []
    for message in messages:
        for block in message.payload()["blocks"]:
            parts = [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
            out += [p["text"] for p in parts if isinstance(p, dict) and "text" in p]
    return html.unescape("\n".join(out)).replace("``\u200b`", "```")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_nothing_is_lost_from_a_post(step: StepResult) -> None:
    """Every fact, hint and detail line is readable in the post or in an attached file."""
    post = render_post(step, "origin")
    seen = visible([post.main, *post.thread]) + "\n".join(f.text for f in post.files)
    pieces = [step.title, step.summary, *step.hints, *step.detail_lines()]
    pieces += [
        f"{k}: {v}" if any(a.name.endswith(".txt") and a.name != "f.txt" for a in post.files) else v
        for k, v in step.facts
    ]
    for piece in pieces:
        assert piece in seen


@given(texts(5000), texts(5000))
def test_problems_fit(message: str, hint: str) -> None:
    assert_within_limits(render_problem(message, hint))


def test_a_short_result_is_shown_whole() -> None:
    step = StepResult(
        Verdict.OK,
        "api in production",
        "healthy: 200 in 84 ms",
        facts=(("deploy", "live 2h ago"),),
        details=("GET /health 200",),
        hints=("nothing to do",),
    )
    post = render_post(step, "origin")
    main = json.dumps(post.main.payload())
    assert "api in production" in main and "healthy: 200 in 84 ms" in main
    assert "live 2h ago" in main and "nothing to do" in main
    assert post.files == ()
    assert "GET /health 200" in json.dumps(post.thread[0].payload())
    assert "more lines" not in json.dumps(post.thread[0].payload())


def test_mrkdwn_control_characters_are_escaped() -> None:
    step = StepResult(Verdict.FAIL, "t", "a <!channel> & <http://evil|x>")
    text = json.dumps(render_reply(step).payload())
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp;" in text


def _full_logs(post_blocks: tuple[dict, ...]) -> list[str]:
    buttons = [e for b in post_blocks if b["type"] == "actions" for e in b["elements"]]
    value = next((e["value"] for e in buttons if e["action_id"] == FULL_LOGS), "[]")
    assert len(value) <= BUTTON_VALUE
    return json.loads(value)


def test_full_logs_carries_the_steps_commands_within_a_buttons_limit() -> None:
    window = (Attachment("logs.txt", "line"),)
    steps = (
        StepResult(Verdict.FAIL, "Worker errors", "s", attachments=window, command="logs worker"),
        StepResult(Verdict.OK, "Status", "s", command="status production"),  # no window
        StepResult(Verdict.OK, "Huge", "s", attachments=window, command="logs x " + "a" * 3000),
        StepResult(Verdict.OK, "Same again", "s", attachments=window, command="logs worker"),
        StepResult(Verdict.OK, "Untyped", "s", attachments=window),
        StepResult(Verdict.OK, "API", "s", attachments=window, command="logs api"),
    )
    report = Report("r", steps, data={"steps": {"a": {"label": "Worker errors"}}})
    assert _full_logs(render_post(report, rerun="run r").main.blocks) == ["logs worker", "logs api"]
