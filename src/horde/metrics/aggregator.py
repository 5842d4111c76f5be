"""The aggregator: folds each one-second window into run totals and a per-second row.

It is the only reader of the :class:`Recorder`. Totals are exact merges of the window
histograms, so a percentile over the whole run is computed from every sample, never
from averaged per-second figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from horde.metrics import names
from horde.metrics.histogram import new_histogram, percentiles_ms
from horde.metrics.recorder import Key, Recorder, Window


def label(key: Key) -> str:
    """The name a (metric, name) pair is shown and stored under: ``metric:name``."""
    metric, name = key
    return metric if name is None else f"{metric}:{name}"


@dataclass(slots=True)
class Totals:
    latencies: dict[Key, HdrHistogram] = field(default_factory=dict)
    counters: dict[Key, int] = field(default_factory=dict)
    errors: dict[tuple[str, str | None], int] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0


class Aggregator:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.totals = Totals()
        self.rows: list[dict[str, Any]] = []

    def tick(self, elapsed_s: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Close the current window: merge it into totals and return its per-second row."""
        window = self.recorder.take_window()
        self._merge(window)
        row = self._row(window, elapsed_s)
        if extra:
            row.update(extra)
        self.rows.append(row)
        return row

    def _merge(self, window: Window) -> None:
        totals = self.totals
        for key, hist in window.latencies.items():
            total = totals.latencies.get(key)
            if total is None:
                total = totals.latencies[key] = new_histogram()
            total.add(hist)
        for key, n in window.counters.items():
            totals.counters[key] = totals.counters.get(key, 0) + n
        for key, n in window.errors.items():
            totals.errors[key] = totals.errors.get(key, 0) + n
        totals.bytes_sent += window.bytes_sent
        totals.bytes_received += window.bytes_received

    def _row(self, window: Window, elapsed_s: float) -> dict[str, Any]:
        rec = self.recorder
        replies = new_histogram()
        per_metric: dict[str, dict[str, Any]] = {}
        for key, hist in window.latencies.items():
            if key[0] in names.REQUEST_METRICS:
                replies.add(hist)
            p50, p95, p99 = percentiles_ms(hist)
            per_metric[label(key)] = {
                "count": hist.get_total_count(), "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
            }
        p50, p95, p99 = percentiles_ms(replies)
        messages = sum(
            n for (metric, _), n in window.counters.items() if metric in names.MESSAGE_IN_COUNTERS
        )
        return {
            "t": round(elapsed_s, 3),
            "users": rec.active_users,
            "connections_open": rec.open_connections,
            "in_flight": rec.in_flight,
            "peak_in_flight": window.peak_in_flight,
            "requests": replies.get_total_count(),
            "messages": messages,
            "errors": sum(window.errors.values()),
            "p50_ms": p50,
            "p95_ms": p95,
            "p99_ms": p99,
            "bytes_sent": window.bytes_sent,
            "bytes_received": window.bytes_received,
            "metrics": per_metric,
        }
