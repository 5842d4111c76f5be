import pytest

from horde.durations import format_duration, parse_duration
from horde.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30", 30), ("30s", 30), ("250ms", 0.25), ("1.5m", 90), ("2h", 7200), ("1h30m", 5400), (5, 5)],
)
def test_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "5s3", "-5s", "1h-2m"])
def test_rejects(text):
    with pytest.raises(ConfigError, match="bad duration"):
        parse_duration(text)


def test_format():
    assert format_duration(45) == "45s"
    assert format_duration(5400) == "1h30m"
