"""Every shape's plan as a table, without a clock."""

import itertools

import pytest

from horde.errors import ConfigError
from horde.shapes import parse_shape
from horde.shapes.plan import arrival_times


def table(spec):
    plan = parse_shape(spec).plan()
    return [(s.start_s, s.duration_s, s.value_from, s.value_to, s.stage) for s in plan.segments]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("constant(users=10, duration=30s)", [(0, 30, 10, 10, "hold")]),
        ("constant(users=10, duration=30s, spawn_rate=5)",
         [(0, 2, 0, 10, "ramp-up"), (2, 28, 10, 10, "hold")]),
        ("ramp(to=100, over=1m)", [(0, 60, 0, 100, "ramp")]),
        ("ramp(to=100, over=1m, start=20, hold=10s)",
         [(0, 60, 20, 100, "ramp"), (60, 10, 100, 100, "hold")]),
        ("burst(size=50, every=10s, count=3)",
         [(0, 10, 50, 50, "burst 1"), (10, 10, 100, 100, "burst 2"), (20, 10, 150, 150, "burst 3")]),
        ("steps(start=10, increment=50, interval=3m, max=120)",
         [(0, 180, 10, 10, "stage 1: 10 users"), (180, 180, 60, 60, "stage 2: 60 users"),
          (360, 180, 110, 110, "stage 3: 110 users"), (540, 180, 120, 120, "stage 4: 120 users")]),
        ("stages(30s:100, 1m:100, 30s:0)",
         [(0, 30, 0, 100, "stage 1"), (30, 60, 100, 100, "stage 2"), (90, 30, 100, 0, "stage 3")]),
        ("arrival-rate(rate=5, duration=10s, to=15)", [(0, 10, 5, 15, "arrivals")]),
    ],
)
def test_plan_tables(spec, expected):
    assert table(spec) == expected


def test_plan_values_between_points():
    plan = parse_shape("stages(10s:100, 10s:0)").plan()
    assert [plan.value_at(t) for t in (0, 5, 10, 15, 20, 99)] == [0, 50, 100, 50, 0, 0]
    assert plan.stage_at(12) == "stage 2" and plan.stage_at(25) is None
    assert plan.duration_s == 20 and plan.peak() == 100


def test_constant_arrivals_are_evenly_spaced():
    times = list(arrival_times(parse_shape("arrival-rate(rate=4, duration=2s)").plan()))
    assert times == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_ramping_arrivals_follow_the_integral_of_the_rate():
    plan = parse_shape("arrival-rate(rate=10, to=30, duration=10s, max_concurrent=7)").plan()
    times = list(arrival_times(plan))
    assert len(times) == 200  # (10 + 30) / 2 * 10
    assert sum(1 for t in times if t < 5) == 75  # 10*5 + (2/2)*5² = 75 owed by t=5
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] > gaps[-1]  # the rate rises
    assert plan.max_concurrent == 7 and plan.open_model


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("zigzag(users=1)", "unknown shape 'zigzag'"),
        ("ramp(to=5)", "missing over"),
        ("ramp(to=5, over=1m, speed=3)", "unknown speed"),
        ("ramp(to=five, over=1m)", "to='five' is not a number"),
        ("ramp(to=5, over=soon)", "bad duration 'soon'"),
        ("stages(30s=100)", "should be DURATION:USERS"),
        ("steps(start=-1, increment=1, interval=1s, max=3)", "start must not be negative"),
        ("ramp to 5", "expected NAME(key=value, ...)"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ConfigError) as info:
        parse_shape(spec)
    assert message in str(info.value)


def test_a_cut_plan_ends_where_it_was_cut_at_the_value_it_had_reached():
    plan = parse_shape("ramp(to=10, over=10s)").plan()
    cut = plan.cut(4)
    assert cut.duration_s == 4 and cut.value_at(3.99) == pytest.approx(3.99)
    assert cut.segments[-1].value_to == 4 and cut.shape == plan.shape
    steps = parse_shape("steps(start=2, increment=4, interval=10s, max=14)").plan()
    assert [s.stage for s in steps.cut(8).segments] == [steps.segments[0].stage]
    assert steps.cut(8).peak() == 2
    assert steps.cut(steps.duration_s + 5) is steps  # longer than the shape: no change


def test_only_a_duration_given_ends_a_shape_not_the_default_nor_a_none():
    from pathlib import Path

    from horde.config.model import RunConfig

    def config(**given):
        return RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:9",
                         shape="ramp(to=3, over=40s)", **given)

    assert config().given_duration_s is None  # the 30 s default is not given
    assert config(duration_s=None).given_duration_s is None  # a caller's None neither
    assert config(duration_s=8).given_duration_s == 8  # runner.plan_for cuts the shape there
