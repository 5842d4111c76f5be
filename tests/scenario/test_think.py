import random
import statistics

from horde.scenario import think


def samples(dist, n=20_000):
    rng = random.Random(7)
    return [think.sample_seconds(dist, rng) for _ in range(n)]


def test_constant_number_and_callable():
    assert set(samples(think.fixed(0.5), 10)) == {0.5}
    assert set(samples(2, 10)) == {2.0}
    assert set(samples(lambda: 0.25, 10)) == {0.25}


def test_uniform_stays_in_bounds_with_the_right_mean():
    values = samples(think.uniform(0.5, 3.0))
    assert min(values) >= 0.5 and max(values) <= 3.0
    assert abs(statistics.mean(values) - 1.75) < 0.03


def test_normal_is_clipped_and_centred():
    values = samples(think.normal(1.5, 0.2, low=1.0, high=2.0))
    assert min(values) >= 1.0 and max(values) <= 2.0
    assert abs(statistics.mean(values) - 1.5) < 0.01
    assert abs(statistics.stdev(values) - 0.2) < 0.02


def test_lognormal_median_and_skew():
    values = samples(think.human_like())
    assert abs(statistics.median(values) - 1.6487) < 0.03
    assert statistics.mean(values) > statistics.median(values)  # right-skewed


def test_choice_only_yields_its_options():
    assert set(samples(think.choice(0.2, 2.0), 1000)) == {0.2, 2.0}


def test_response_patterns_of_000():
    import pytest

    from horde.errors import ConfigError

    rnd = samples(think.response_pattern("random"))
    assert min(rnd) >= 0.5 and max(rnd) <= 3.0
    assert set(samples(think.response_pattern("burst"), 2000)) == {0.2, 0.3, 0.4, 2.0, 3.0}
    steady = samples(think.response_pattern("steady"))
    assert abs(statistics.mean(steady) - 1.5) < 0.01
    human = samples(think.response_pattern("human_like", low=0.5, high=3.0))
    assert min(human) >= 0.5 and max(human) <= 3.0
    assert abs(statistics.median(human) - 1.6487) < 0.03
    bounded = samples(think.response_pattern("burst", low=0.3, high=2.0), 2000)
    assert set(bounded) == {0.3, 0.4, 2.0}
    with pytest.raises(ConfigError, match="unknown response pattern 'lazy'"):
        think.response_pattern("lazy")
