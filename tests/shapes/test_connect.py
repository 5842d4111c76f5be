"""Connection strategies as plans: gradual, burst (batches), immediate."""

import pytest

from horde.errors import ConfigError
from horde.shapes.connect import parse_connect


def test_gradual_starts_rate_users_per_second_then_holds():
    plan = parse_connect("gradual(rate=20)").plan(100, 30)
    assert plan.shape == "gradual"
    assert plan.value_at(0) == 0 and plan.value_at(2.5) == 50 and plan.value_at(5) == 100
    assert plan.duration_s == 30


def test_burst_starts_batches_every_interval_and_holds_the_last():
    plan = parse_connect("burst(size=10, every=2s)").plan(25, 20)
    assert [plan.value_at(t) for t in (0, 1.9, 2, 4, 10)] == [10, 10, 20, 25, 25]
    assert [s.stage for s in plan.segments] == ["batch 1", "batch 2", "batch 3"]
    assert plan.duration_s == 20


def test_immediate_starts_everyone_at_once():
    plan = parse_connect("immediate").plan(201, 10)
    assert plan.value_at(0) == 201 and plan.duration_s == 10


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("slowly", "unknown connection strategy 'slowly'; choose from: gradual, burst, immediate"),
        ("gradual(rate=0)", "rate and size must be > 0"),
        ("burst(every=1s)", "missing size"),
        ("gradual(speed=3)", "unknown speed"),
    ],
)
def test_bad_strategies_are_refused_with_the_allowed_values(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_connect(spec)
