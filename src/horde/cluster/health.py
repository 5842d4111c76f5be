"""The workers' health as one picture: each second's row, and the run's verdict.

A row's ``cpu_percent`` and ``rss_mb`` are the workers' sums (how much of the machine or
cluster the load took), ``loop_lag_ms`` their worst, and ``workers`` lists each one; the
coordinator's own CPU is beside them. The run is saturated when any worker was — one
overloaded worker distorts the latencies it measures however idle the others are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from horde.cluster.messages import Ready, Tick


def merged_sample(own: dict[str, Any], latest: Mapping[int, Tick],
                  lost: set[int]) -> dict[str, Any]:
    """This second's health fields of the row, from each worker's last window."""
    per = [{"worker": i, "users": tick.gauges.active_users,
            "cpu_percent": tick.health.get("cpu_percent"),
            "rss_mb": tick.health.get("rss_mb"),
            "loop_lag_ms": tick.health.get("loop_lag_ms")}
           for i, tick in sorted(latest.items())]
    warnings = [f"worker {i}: {tick.health['generator_warning']}"
                for i, tick in sorted(latest.items()) if tick.health.get("generator_warning")]
    return {
        "cpu_percent": round(sum(w["cpu_percent"] or 0.0 for w in per), 1),
        "rss_mb": round(sum(w["rss_mb"] or 0.0 for w in per), 1),
        "loop_lag_ms": max((w["loop_lag_ms"] or 0.0 for w in per), default=0.0),
        "generator_warning": "; ".join(warnings) or None,
        "coordinator_cpu_percent": own.get("cpu_percent"),
        "workers": per,
        "workers_lost": len(lost),
    }


def merged_generator(own: dict[str, Any], health: Mapping[int, dict[str, Any]],
                     ready: list[Ready]) -> dict[str, Any]:
    """results.json ``generator`` for a run on workers: saturated if any worker was."""
    where = {r.worker: r for r in ready}
    workers = []
    for i, verdict in sorted(health.items()):
        placed = where.get(i)
        workers.append({"worker": i, "node": placed.node if placed else None,
                        "pid": placed.pid if placed else None, **verdict})
    per_second = [s["cpu_percent"] for s in own.get("timeseries", [])  # the merged rows'
                  if s.get("cpu_percent") is not None]
    means = [w["cpu_percent_mean"] for w in workers if w.get("cpu_percent_mean") is not None]
    lags = [w["loop_lag_p99_ms"] for w in workers if w.get("loop_lag_p99_ms") is not None]
    coordinator = {k: own.get(k) for k in ("cpu_percent_mean", "cpu_percent_max",
                                            "rss_peak_mb", "loop_lag_p99_ms")}
    return {
        **own,  # the series and throughput, read from the merged rows
        "saturated": any(w.get("saturated") for w in workers),
        "reasons": [f"worker {w['worker']}: {r}" for w in workers for r in w.get("reasons", [])],
        "cpu_percent_mean": round(sum(means), 1) if means else None,
        "cpu_percent_max": max([*per_second, sum(means)]) if means else None,
        "rss_peak_mb": round(sum(w.get("rss_peak_mb") or 0.0 for w in workers), 1),
        "loop_lag_p99_ms": max(lags) if lags else None,
        "workers": workers,
        "coordinator": coordinator,
    }
