from datetime import timedelta

import pytest

from bot.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("45s", 45),
        ("1w", 604800),
        (" 2H ", 7200),
    ],
)
def test_parses_what_on_call_engineers_type(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5x", "h", "1.5h", "-1h", "1h 30"])
def test_refuses_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="30m, 2h, 1d"):
        parse_duration(text)


def test_refuses_zero() -> None:
    with pytest.raises(ValueError, match="zero"):
        parse_duration("0m")


@pytest.mark.parametrize("seconds", [45, 60, 5400, 86400 + 3600, 604800])
def test_format_reads_back(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value
