"""Helpers for the stream tests: what a recorder window holds."""

from __future__ import annotations

from horde.metrics.recorder import Window


def counter(window: Window, metric: str, name: str | None = None) -> int:
    return window.counters.get((metric, name), 0)


def samples(window: Window, metric: str, name: str | None = None) -> int:
    hist = window.latencies.get((metric, name))
    return 0 if hist is None else hist.get_total_count()
