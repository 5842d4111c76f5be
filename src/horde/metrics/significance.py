"""Two significance tests, pure and small: how likely a difference between two runs is
noise.

``horde compare`` needs only two: a rank test on per-second values (latencies, counts per
second), which assumes nothing about their distribution — latency is skewed and spiky,
so a t-test's normality is not there to lean on — and a test on two proportions (error
rates). Both use the normal approximation, which is what a CI gate needs (runs of tens to
thousands of seconds) and saves a dependency: scipy for two functions is not worth it.
The analysis adds a third, an exact binomial tail, for stages with few samples.
``tests/metrics/test_significance.py`` checks them against scipy's results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z: the one-sided p-value of a z score."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def mann_whitney_greater(x: Sequence[float], y: Sequence[float]) -> float:
    """One-sided p-value that ``x`` tends to be greater than ``y`` (Mann–Whitney U).

    Normal approximation with the tie correction and the continuity correction — the
    same as ``scipy.stats.mannwhitneyu(x, y, alternative="greater",
    method="asymptotic")``. Ties matter here: per-second percentiles come out of
    histogram buckets, so equal values are common. All values equal: 1.0 (no evidence).
    """
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        raise ValueError("mann_whitney_greater needs at least one value on each side")
    ranks, ties = _ranks([*x, *y])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = (u1 - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return normal_sf(z)


def _ranks(values: list[float]) -> tuple[list[float], float]:
    """Ranks from 1, ties sharing their mean rank; and Σ(t³ − t) over the tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        mean_rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = mean_rank
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    return ranks, ties


def two_proportion_greater(k1: int, n1: int, k2: int, n2: int) -> float:
    """One-sided p-value that proportion ``k1/n1`` is above ``k2/n2`` (a z-test with the
    pooled proportion). Both proportions 0 (or both 1): 1.0 — nothing to tell apart."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("two_proportion_greater needs n1 > 0 and n2 > 0")
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    return normal_sf((k1 / n1 - k2 / n2) / se)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def binomial_tail(n: int, p: float, k: int) -> float:
    """P(X >= k) for X ~ Binomial(n, p): exact, by summing the lower terms (n is a
    stage's sample count: hundreds at most)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    below = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k))
    return max(0.0, 1.0 - below)
