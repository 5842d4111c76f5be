"""The two significance tests against known values: scipy 1.17's ``mannwhitneyu(x, y,
alternative="greater", method="asymptotic")`` and, for proportions, half the p-value of
``chi2_contingency(table, correction=False)`` (χ² of a 2×2 table is z²)."""

import pytest

from horde.metrics.significance import (
    mann_whitney_greater,
    median,
    normal_sf,
    two_proportion_greater,
)


@pytest.mark.parametrize(
    ("x", "y", "p"),
    [
        # scipy's documentation example (U = 17)
        ([19, 22, 16, 29, 24], [20, 11, 17, 12], 0.055673443266570206),
        # many ties, as per-second percentiles out of histogram buckets have (U = 40.5)
        ([6.5, 6.5, 7.0, 7.0, 7.5, 8.0, 8.0, 9.0], [6.0, 6.5, 6.5, 7.0, 7.0, 7.0, 7.5],
         0.07633069017621509),
        ([10, 11, 12, 13, 14], [1, 2, 3, 4, 5], 0.006092890177672406),  # apart: U = 25
        ([1, 2, 3, 4, 5], [10, 11, 12, 13, 14], 0.9966923245172357),    # the other way
        ([2.0], [1.0], 0.5),
    ],
)
def test_mann_whitney_matches_scipy(x: list[float], y: list[float], p: float) -> None:
    assert mann_whitney_greater(x, y) == pytest.approx(p, rel=1e-9)


def test_mann_whitney_without_any_difference_gives_no_evidence() -> None:
    assert mann_whitney_greater([5.0] * 6, [5.0] * 6) == 1.0
    with pytest.raises(ValueError):
        mann_whitney_greater([], [1.0])


def test_mann_whitney_five_seconds_apart_are_enough_at_99_percent() -> None:
    """Why ``min_seconds`` is 5: four against four can never reach p < 0.01."""
    assert mann_whitney_greater([2, 3, 4, 5, 6], [1.0, 1.1, 1.2, 1.3, 1.4]) < 0.01
    assert mann_whitney_greater([2, 3, 4, 5], [1.0, 1.1, 1.2, 1.3]) > 0.01


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "p"),
    [
        (30, 1000, 10, 1000, 0.000700650790480107),
        (3, 50, 1, 60, 0.11334755192664889),
        (5, 100, 5, 100, 0.5),
        (0, 10, 2, 10, 1 - 0.06801856405707211),  # lower, not higher
    ],
)
def test_two_proportions_match_a_chi_squared_test(k1: int, n1: int, k2: int, n2: int,
                                                  p: float) -> None:
    assert two_proportion_greater(k1, n1, k2, n2) == pytest.approx(p, rel=1e-9)


def test_two_proportions_both_zero_give_no_evidence() -> None:
    assert two_proportion_greater(0, 500, 0, 800) == 1.0
    with pytest.raises(ValueError):
        two_proportion_greater(1, 0, 0, 10)


def test_normal_sf_and_median() -> None:
    assert normal_sf(0.0) == 0.5
    assert normal_sf(2.326347874) == pytest.approx(0.01, rel=1e-6)
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_binomial_tail_matches_the_sum_of_its_terms() -> None:
    from horde.metrics.significance import binomial_tail

    assert binomial_tail(43, 0.01, 3) == pytest.approx(0.00916, abs=1e-5)  # scipy: binom.sf(2, 43, .01)
    assert binomial_tail(10, 0.5, 0) == 1.0 and binomial_tail(10, 0.5, 11) == 0.0
    assert binomial_tail(10, 0.5, 10) == pytest.approx(0.5**10)
