"""Latency samples wait as plain ints and reach the histograms at hand-over."""

from __future__ import annotations

import pytest

from horde.metrics.histogram import HIGHEST_US, Histogram
from horde.metrics.names import HTTP_REQ, HTTP_TTFB
from horde.metrics.recorder import Recorder


def test_one_histogram_call_per_distinct_value(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    record = Histogram.record_value
    monkeypatch.setattr(Histogram, "record_value",
                        lambda self, v, n=1: calls.append((v, n)) or record(self, v, n))
    rec = Recorder()
    for i in range(1000):
        rec.latency(HTTP_TTFB, "a", 100 + i % 5)
        op = rec.begin(HTTP_REQ, "a", start_ns=1_000_000)
        rec.succeed(op, end_ns=1_000_000 + 1000 * (200 + i % 3))
        rec.iteration_ended("b", 300)
    assert calls == []  # nothing until the window is handed over
    window = rec.take_window()
    assert len(calls) == 5 + 3 + 1
    ttfb = window.latencies[(HTTP_TTFB, "a")]
    assert ttfb.get_total_count() == 1000 and ttfb.get_max_value() == 104
    assert window.latencies[(HTTP_REQ, "a")].get_total_count() == 1000
    assert rec.take_window().latencies == {}  # handed over once


def test_values_out_of_range_are_clamped_at_hand_over() -> None:
    rec = Recorder()
    rec.latency(HTTP_TTFB, None, 0)
    rec.latency(HTTP_TTFB, None, -5)
    rec.latency(HTTP_TTFB, None, HIGHEST_US * 10)
    hist = rec.take_window().latencies[(HTTP_TTFB, None)]
    assert hist.get_total_count() == 3 and hist.get_min_value() == 1
    assert hist.get_max_value() >= HIGHEST_US
