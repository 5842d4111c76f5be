"""Watch horde itself: CPU, memory and event-loop lag, so its limits are never
mistaken for the server's.

The loop-lag probe sleeps a fixed 50 ms and measures how late it wakes; a busy loop wakes
late. A run is marked ``generator_saturated`` when the loop lagged badly (p99 > 50 ms) or
the process sat at ≥ 90 % of a core for at least half of its seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from horde.metrics.histogram import new_histogram

PROBE_INTERVAL_S = 0.05
LAG_LIMIT_MS = 50.0
CPU_BUSY_PERCENT = 90.0
MIN_CPU_WINDOW_S = 0.5


@dataclass(slots=True)
class GeneratorHealth:
    cpu_samples: list[float] = field(default_factory=list)
    rss_peak_mb: float = 0.0

    def verdict(self, lag_p99_ms: float | None) -> dict[str, Any]:
        busy = sum(1 for c in self.cpu_samples if c >= CPU_BUSY_PERCENT)
        cpu_bound = bool(self.cpu_samples) and busy * 2 >= len(self.cpu_samples)
        lagging = lag_p99_ms is not None and lag_p99_ms > LAG_LIMIT_MS
        reasons = []
        if lagging:
            reasons.append(f"event-loop lag p99 {lag_p99_ms:.1f} ms > {LAG_LIMIT_MS:.0f} ms")
        if cpu_bound:
            reasons.append(
                f"CPU >= {CPU_BUSY_PERCENT:.0f}% of a core in {busy}/{len(self.cpu_samples)} s"
            )
        samples = self.cpu_samples
        return {
            "saturated": bool(reasons),
            "reasons": reasons,
            "cpu_percent_mean": round(sum(samples) / len(samples), 1) if samples else None,
            "cpu_percent_max": round(max(samples), 1) if samples else None,
            "rss_peak_mb": round(self.rss_peak_mb, 1),
            "loop_lag_p99_ms": lag_p99_ms,
        }


class GeneratorMonitor:
    """Samples horde's own process once per tick; a background task measures loop lag."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._process.cpu_percent(None)  # prime: the first call always returns 0
        self._sampled_at = time.monotonic()
        self._lag = new_histogram()
        self._lag_window_max_us = 0
        self.health = GeneratorHealth()

    async def probe_loop_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(PROBE_INTERVAL_S)
            late_us = int((loop.time() - start - PROBE_INTERVAL_S) * 1_000_000)
            late_us = max(late_us, 1)
            self._lag.record_value(min(late_us, 3_600_000_000))
            self._lag_window_max_us = max(self._lag_window_max_us, late_us)

    def sample(self) -> dict[str, Any]:
        """This second's figures for the per-second row. A window much shorter than a
        second (the run's last, cut by the stop) gives a noisy CPU figure — 300 % over
        a few ms — so it is shown in its row but kept out of the run's verdict."""
        now = time.monotonic()
        window_s, self._sampled_at = now - self._sampled_at, now
        cpu = self._process.cpu_percent(None)
        rss_mb = self._process.memory_info().rss / 1_048_576
        if window_s >= MIN_CPU_WINDOW_S:
            self.health.cpu_samples.append(cpu)
        self.health.rss_peak_mb = max(self.health.rss_peak_mb, rss_mb)
        lag_ms = self._lag_window_max_us / 1000.0
        self._lag_window_max_us = 0
        return {"cpu_percent": round(cpu, 1), "rss_mb": round(rss_mb, 1), "loop_lag_ms": lag_ms}

    def summary(self) -> dict[str, Any]:
        lag_p99 = None
        if self._lag.get_total_count():
            lag_p99 = round(self._lag.get_value_at_percentile(99.0) / 1000.0, 2)
        return self.health.verdict(lag_p99)
