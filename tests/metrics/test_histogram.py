import random

from horde.metrics.histogram import new_histogram, summarize
from horde.metrics.recorder import Recorder


def test_constant_value_reported_within_a_tenth_of_a_percent():
    hist = new_histogram()
    for _ in range(1000):
        hist.record_value(200_000)
    stats = summarize(hist, elapsed_s=10)
    assert stats["count"] == 1000 and stats["rate_per_s"] == 100
    for key in ("min_ms", "p50_ms", "p99_ms", "max_ms"):
        assert abs(stats[key] - 200.0) <= 0.2


def test_bimodal_distribution_percentiles():
    rng = random.Random(3)
    hist = new_histogram()
    for _ in range(10_000):
        hist.record_value(10_000 if rng.random() < 0.9 else 100_000)
    stats = summarize(hist)
    assert abs(stats["p50_ms"] - 10) < 0.02
    assert abs(stats["p99_ms"] - 100) < 0.1


def test_out_of_range_values_are_clamped_not_lost():
    recorder = Recorder()
    recorder.latency("m", None, 0)
    recorder.latency("m", None, 10**13)
    hist = recorder.take_window().latencies[("m", None)]
    assert hist.get_total_count() == 2
    assert hist.get_min_value() == 1


def test_empty_histogram_summary():
    assert summarize(new_histogram()) == {"count": 0, "rate_per_s": 0.0}


def test_fast_record_lands_in_the_same_buckets_as_hdrh():
    from hdrh.histogram import HdrHistogram

    from horde.metrics.histogram import HIGHEST_US, LOWEST_US, SIGNIFICANT_DIGITS

    rng = random.Random(5)
    values = [1, 2, 1023, 1024, 2047, 2048, 4095, 4096, 65_535, HIGHEST_US]
    values += [int(10 ** rng.uniform(0, 9.5)) for _ in range(20_000)]
    fast, reference = new_histogram(), HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
    for v in values:
        fast.record_value(v)
        HdrHistogram.record_value(reference, v)
    assert list(fast.counts) == list(reference.counts)
    assert fast.get_total_count() == reference.get_total_count()
    assert fast.get_min_value() == reference.get_min_value()
    assert fast.get_max_value() == reference.get_max_value()
    assert fast.get_value_at_percentile(99.0) == reference.get_value_at_percentile(99.0)


def test_fast_percentiles_and_mean_equal_hdrh():
    rng = random.Random(9)
    hist = new_histogram()
    for _ in range(30_000):
        hist.record_value(int(rng.lognormvariate(9, 1.5)))
    wanted = [0.0, 1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0]
    assert hist.percentiles(wanted) == {p: hist.get_value_at_percentile(p) for p in wanted}
    assert abs(hist.mean() - hist.get_mean_value()) < 1e-6 * hist.get_mean_value()
