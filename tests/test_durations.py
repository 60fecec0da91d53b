from datetime import timedelta

import pytest

from bot.durations import format_age, format_duration, format_span, parse_duration


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


@pytest.mark.parametrize(
    ("age", "said"),
    [
        (timedelta(days=426, hours=8, minutes=51), "1y"),
        (timedelta(days=3, hours=23), "3d"),
        (timedelta(hours=5, minutes=59), "5h"),
        (timedelta(minutes=12, seconds=40), "12m"),
        (timedelta(seconds=40), "40s"),
        (timedelta(seconds=-3), "0s"),  # a clock a little ahead is "just now", not negative
    ],
)
def test_an_age_is_one_unit_as_a_person_says_it(age: timedelta, said: str) -> None:
    assert format_age(age) == said


@pytest.mark.parametrize(
    ("took", "shown"),
    [
        (timedelta(minutes=3, seconds=21), "3m21s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(hours=2, minutes=5, seconds=9), "2h5m"),
        (timedelta(days=1, hours=4, minutes=3), "1d4h"),
    ],
)
def test_a_span_is_exact_while_short(took: timedelta, shown: str) -> None:
    assert format_span(took) == shown
