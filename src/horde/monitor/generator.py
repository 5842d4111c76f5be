"""Watch horde itself: CPU, memory, network and event-loop lag, so its limits are never
mistaken for the server's.

The loop-lag probe sleeps a fixed 50 ms and measures how late it wakes; a busy loop wakes
late. A run is marked ``generator_saturated`` when the loop lagged badly (p99 > 50 ms) or
the process sat at ≥ 90 % of a core for at least half of its seconds.

Live, each per-second row carries ``generator_warning``: a one-line reason as soon as the
last second's lag p99 passed 50 ms or the CPU sat at ≥ 90 % for the last
``CPU_PINNED_SECONDS`` seconds in a row — so a watcher knows at once, not at the end.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from horde.metrics.histogram import new_histogram

PROBE_INTERVAL_S = 0.05
LAG_LIMIT_MS = 50.0
CPU_BUSY_PERCENT = 90.0
MIN_CPU_WINDOW_S = 0.5
CPU_PINNED_SECONDS = 3  # consecutive busy seconds before the live warning


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
        self._window_lags_us: list[int] = []
        self._busy_streak = 0
        self.health = GeneratorHealth()

    async def probe_loop_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(PROBE_INTERVAL_S)
            late_us = int((loop.time() - start - PROBE_INTERVAL_S) * 1_000_000)
            late_us = max(late_us, 1)
            self._lag.record_value(min(late_us, 3_600_000_000))
            self._window_lags_us.append(late_us)

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
            self._busy_streak = self._busy_streak + 1 if cpu >= CPU_BUSY_PERCENT else 0
        self.health.rss_peak_mb = max(self.health.rss_peak_mb, rss_mb)
        lags, self._window_lags_us = self._window_lags_us, []
        lag_ms = max(lags, default=0) / 1000.0
        return {
            "cpu_percent": round(cpu, 1), "rss_mb": round(rss_mb, 1), "loop_lag_ms": lag_ms,
            "generator_warning": live_warning(window_p99_ms(lags), self._busy_streak),
        }

    def summary(self, rows: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The run's verdict; with the per-second ``rows``, also horde's figures over time
        (CPU, RSS, lag, network) and its network throughput, mean and peak."""
        lag_p99 = None
        if self._lag.get_total_count():
            lag_p99 = round(self._lag.get_value_at_percentile(99.0) / 1000.0, 2)
        summary = self.health.verdict(lag_p99)
        if rows:
            series = over_time(rows)
            summary.update(throughput(rows, series))
            summary["timeseries"] = series
        return summary


def window_p99_ms(lags_us: list[int]) -> float | None:
    """p99 of one second's lag probes (about 20: in practice their worst)."""
    if not lags_us:
        return None
    ordered = sorted(lags_us)
    return ordered[max(math.ceil(len(ordered) * 0.99) - 1, 0)] / 1000.0


def live_warning(lag_p99_ms: float | None, busy_streak: int) -> str | None:
    """The warning a live view shows now, or None while horde keeps up."""
    reasons = []
    if lag_p99_ms is not None and lag_p99_ms > LAG_LIMIT_MS:
        reasons.append(f"event-loop lag p99 {lag_p99_ms:.0f} ms > {LAG_LIMIT_MS:.0f} ms")
    if busy_streak >= CPU_PINNED_SECONDS:
        reasons.append(f"CPU >= {CPU_BUSY_PERCENT:.0f}% of a core for {busy_streak} s")
    if not reasons:
        return None
    return "generator saturated: " + "; ".join(reasons) + " — figures may show horde's limit"


def over_time(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """horde's own figures per second, network as bytes per second of each row's window
    (the last window may be shorter than a second)."""
    series = []
    previous_t = 0.0
    for row in rows:
        span = max(row["t"] - previous_t, 1e-3)
        previous_t = row["t"]
        series.append({
            "t": row["t"],
            "cpu_percent": row.get("cpu_percent"),
            "rss_mb": row.get("rss_mb"),
            "loop_lag_ms": row.get("loop_lag_ms"),
            "sent_bytes_per_s": round(row.get("bytes_sent", 0) / span, 1),
            "received_bytes_per_s": round(row.get("bytes_received", 0) / span, 1),
        })
    return series


def throughput(rows: list[dict[str, Any]], series: list[dict[str, Any]]) -> dict[str, float]:
    """Mean (all bytes over all seconds) and peak network throughput; the peak over full
    seconds only, as a few bytes in a last 10 ms window would read as a huge rate."""
    seconds = max(rows[-1]["t"], 1e-3)
    full = [s for s, prev in zip(series, [{"t": 0.0}, *series], strict=False)
            if s["t"] - prev["t"] >= MIN_CPU_WINDOW_S] or series
    out: dict[str, float] = {}
    for key, counted in (("sent_bytes_per_s", "bytes_sent"),
                         ("received_bytes_per_s", "bytes_received")):
        out[f"{key}_mean"] = round(sum(r.get(counted, 0) for r in rows) / seconds, 1)
        out[f"{key}_peak"] = round(max(s[key] for s in full), 1)
    return out
