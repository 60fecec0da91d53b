"""The grammar of DESIGN.md: what parses, and what each refusal tells the user."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.actions.all import ACTIONS
from bot.commands import parse, tokens
from bot.config import Catalog
from bot.errors import UsageError


def params(text: str, catalog: Catalog) -> tuple[str, dict]:
    inv = parse(text, ACTIONS, catalog)
    return inv.action.name, inv.params.model_dump()


def refusal(text: str, catalog: Catalog) -> str:
    with pytest.raises(UsageError) as info:
        parse(text, ACTIONS, catalog)
    return str(info.value)


def test_every_verb_of_the_design_parses(catalog: Catalog) -> None:
    cases = {
        "help": "help",
        "help logs": "help",
        "status": "status",
        "status staging": "status",
        "logs worker production --since 30m --level error --grep timeout --limit 500": "logs",
        "envdiff worker": "envdiff",
        "envdiff worker staging production": "envdiff",
        "db production --service worker": "db",
        "schema staging": "schema",
        "stuck production --older-than 2h": "stuck",
        "deploys api production": "deploys",
        "runbooks": "runbooks",
        "run worker-down production": "run",
        'incident open "Worker down" --sev P0 --env production': "incident open",
        "incident status identified pooler URL fixed": "incident status",
        "note restarted the worker": "note",
        "timeline": "timeline",
        "report": "report",
    }
    for text, verb in cases.items():
        assert params(text, catalog)[0] == verb, text


def test_values_are_typed(catalog: Catalog) -> None:
    _, got = params("logs worker production --since=1h30m --limit 50 --grep 'Errno 101'", catalog)
    assert got == {
        "service": "worker",
        "env": "production",
        "since": timedelta(minutes=90),
        "level": None,
        "grep": "Errno 101",
        "limit": 50,
    }
    assert params("stuck staging", catalog)[1]["older_than"] is None
    assert params("stuck staging --older-than 1d", catalog)[1]["older_than"] == timedelta(days=1)


def test_render_service_ids_are_accepted(catalog: Catalog) -> None:
    assert params("logs srv-d2h5mr8dl3ps73fvvlog", catalog)[1]["service"] == (
        "srv-d2h5mr8dl3ps73fvvlog"
    )


def test_free_text_keeps_apostrophes_and_stops_at_options(catalog: Catalog) -> None:
    assert params("note it's the pooler, isn't it", catalog)[1]["text"] == (
        "it's the pooler, isn't it"
    )
    _, got = params("incident open Worker can't reach DB --sev P0", catalog)
    assert got["title"] == "Worker can't reach DB" and got["sev"] == "P0"
    assert params('note "quoted --not-an-option"', catalog)[1]["text"] == ("quoted --not-an-option")


def test_slack_escapes_and_smart_quotes_are_undone(catalog: Catalog) -> None:
    _, got = params("logs worker --grep \u201cA &amp; B &lt;x&gt;\u201d", catalog)
    assert got["grep"] == "A & B <x>"


def test_empty_text_means_help(catalog: Catalog) -> None:
    assert params("   ", catalog)[0] == "help"


def test_verbs_are_case_insensitive(catalog: Catalog) -> None:
    assert params("STATUS production", catalog)[0] == "status"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stauts", "unknown command 'stauts'. Did you mean 'status'?"),
        ("logs wroker", "unknown service 'wroker'. Did you mean 'worker'?"),
        ("status prodution", "unknown environment 'prodution'. Did you mean 'production'?"),
        ("logs worker --sinse 1h", "unknown option '--sinse'. Did you mean '--since'?"),
        ("incident opne x", "unknown incident command 'opne'. Did you mean 'open'?"),
        ("help lgos", None),
    ],
)
def test_did_you_mean(text: str, expected: str | None, catalog: Catalog) -> None:
    if expected is None:
        assert params(text, catalog)[0] == "help"  # help checks its topic when it runs
    else:
        assert expected in refusal(text, catalog)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("logs", "missing <service>."),
        ("db", "missing <env>."),
        ("logs worker --since", "--since needs a value."),
        ("logs worker --since 5x", "--since: '5x' is not a duration"),
        ("logs worker --limit 50000", "`--limit 50000` is too large: the most is 20000."),
        ("incident open x --sev P9", "`--sev P9` is not a severity. (known: P0, P1, P2)"),
        ("incident", "`incident` needs one of: lead, open, sev, status."),
        ("envdiff worker staging production extra", "unexpected 'extra'."),
        ("logs worker --grep 'open", "unclosed '"),
        ("incident status fixed", "`fixed` is not a state."),
    ],
)
def test_refusals_name_the_problem_and_show_usage(
    text: str, expected: str, catalog: Catalog
) -> None:
    message = refusal(text, catalog)
    assert expected in message
    if "needs one of" not in message and "unclosed" not in message:
        assert "Usage: `" in message


def test_tokens_group_quotes_only_where_typed() -> None:
    assert [t.text for t in tokens("a can't \"b c\" --x='d e' e\"f")] == [
        "a",
        "can't",
        "b c",
        "--x=d e",
        'e"f',
    ]
    assert [(t.text, t.quoted) for t in tokens("--a=\"x\"--b='y z' -x='k' \"-\"-c='w'")] == [
        ("--a=x--b=y z", False),  # an option whose value was quoted
        ("-x='k'", False),
        ("--c=w", True),  # opened with a quote: a literal word, never an option
    ]


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    with contextlib.suppress(UsageError):  # a refusal is an answer too: what counts is when
        work()
    return time.perf_counter() - started


@pytest.mark.parametrize(
    "text",
    [
        "logs worker --grep " + "a" * 40_000,
        "--x=" * 16_384,  # 64 KB: one token that keeps looking like `--flag=`
        "logs worker --grep=" + "'a'--x=" * 9_362,  # 64 KB: a quote after every `--x=`
        "note " + "can't " * 10_923,  # 64 KB of apostrophes that open nothing
    ],
)
def test_a_long_command_is_parsed_in_linear_time(text: str, catalog: Catalog) -> None:
    assert len(text) >= 40_000
    assert _seconds(lambda: list(tokens(text))) < 0.5
    assert _seconds(lambda: parse(text, ACTIONS, catalog)) < 0.5


def test_a_long_unclosed_quote_is_refused_at_once(catalog: Catalog) -> None:
    text = "logs worker --grep='" + "a" * 65_536
    assert "unclosed '" in refusal(text, catalog)
    assert _seconds(lambda: parse(text, ACTIONS, catalog)) < 0.5


def test_without_a_catalog_names_are_refused_with_the_reason() -> None:
    assert "none in the catalog" in refusal("logs worker", Catalog())


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("logs worker --grep='connection refused'", "connection refused"),
        ('logs worker --grep="a b"', "a b"),
        ("logs worker production --grep='connection refused' --limit 5", "connection refused"),
    ],
)
def test_a_quote_right_after_the_equals_sign_is_the_option_value(
    text: str, value: str, catalog: Catalog
) -> None:
    assert params(text, catalog)[1]["grep"] == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status prod", "unknown environment 'prod'. Did you mean 'production'?"),
        ("status stag", "unknown environment 'stag'. Did you mean 'staging'?"),
        ("status prodcution", "Did you mean 'production'?"),
        ("status PRODUCTION", "Did you mean 'production'?"),
        ("logs wrker", "unknown service 'wrker'. Did you mean 'worker'?"),
        ("dpeloys worker", "unknown command 'dpeloys'. Did you mean 'deploys'?"),
    ],
)
def test_did_you_mean_catches_prefixes_and_typos(
    text: str, expected: str, catalog: Catalog
) -> None:
    assert expected in refusal(text, catalog)


@pytest.mark.parametrize("text", ["bogus", "xyzzy", "status qa", "logs frontend"])
def test_nothing_close_gets_no_guess_only_what_exists(text: str, catalog: Catalog) -> None:
    message = refusal(text, catalog)
    assert "Did you mean" not in message and "(known: " in message


def test_an_option_value_not_among_the_choices_gets_did_you_mean(catalog: Catalog) -> None:
    message = refusal("logs worker production --level eror", catalog)
    assert message.startswith(
        "`--level eror` is not a level. Did you mean 'error'? (known: debug, error, info, warning)"
    )
    assert "Input should be" not in message  # pydantic's words stay inside
    assert "Did you mean" not in refusal("logs worker --level loud", catalog)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("logs worker --limit abc", "`--limit abc` is not a whole number."),
        ("logs worker --limit 1.5", "`--limit 1.5` is not a whole number."),
        ("logs worker --limit 99999999", "`--limit 99999999` is too large: the most is 20000."),
        ("health api --tries 0", "`--tries 0` is too small: the least is 1."),
    ],
)
def test_a_number_out_of_bounds_is_said_in_the_command_words(
    text: str, said: str, catalog: Catalog
) -> None:
    message = refusal(text, catalog)
    assert message.startswith(said), message
    assert "Input should be" not in message


def known(message: str) -> list[str]:
    return message.split("(known: ", 1)[1].split(")", 1)[0].split(", ")


@pytest.mark.parametrize(
    "text",
    ["bogus", "status qa", "logs frontend", "logs worker --bogus 1", "incident zap", "stuck qa"],
)
def test_every_known_list_is_sorted(text: str, catalog: Catalog) -> None:
    names = known(refusal(text, catalog))
    assert len(names) > 1 and names == sorted(names)
