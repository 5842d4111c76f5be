import random

from horde.metrics.histogram import new_histogram, record_us, summarize


def test_constant_value_reported_within_a_tenth_of_a_percent():
    hist = new_histogram()
    for _ in range(1000):
        record_us(hist, 200_000)
    stats = summarize(hist, elapsed_s=10)
    assert stats["count"] == 1000 and stats["rate_per_s"] == 100
    for key in ("min_ms", "p50_ms", "p99_ms", "max_ms"):
        assert abs(stats[key] - 200.0) <= 0.2


def test_bimodal_distribution_percentiles():
    rng = random.Random(3)
    hist = new_histogram()
    for _ in range(10_000):
        record_us(hist, 10_000 if rng.random() < 0.9 else 100_000)
    stats = summarize(hist)
    assert abs(stats["p50_ms"] - 10) < 0.02
    assert abs(stats["p99_ms"] - 100) < 0.1


def test_out_of_range_values_are_clamped_not_lost():
    hist = new_histogram()
    record_us(hist, 0)
    record_us(hist, 10**13)
    assert hist.get_total_count() == 2


def test_empty_histogram_summary():
    assert summarize(new_histogram()) == {"count": 0, "rate_per_s": 0.0}
