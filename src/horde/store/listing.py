"""The few figures a run is listed by: operations, throughput, error rate, latency.

Computed from a results dict (a finished run's, or one rebuilt from stored rows), so the
``runs`` table and ``compare`` read the same numbers the reports show.
"""

from __future__ import annotations

from typing import Any

from horde.metrics.operations import OPERATION_METRICS


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """``p50/p95/p99_ms`` are those of the slowest operation metric by p95 (every kind:
    requests, replies, acks, streams, timers, connects): one number that cannot hide a
    slow operation behind a fast one."""
    slowest = _slowest_operation(results.get("metrics", {}))
    ops = results.get("operations") or {}
    return {
        "duration_s": results.get("duration_s"),
        "operations": ops.get("finished", 0),
        "rate_per_s": ops.get("rate_per_s", 0.0),
        "messages_received": results.get("messages", {}).get("received", 0),
        "errors_total": results.get("errors_total", 0),
        "error_rate": ops.get("error_rate"),
        "peak_users": results.get("users", {}).get("peak_active"),
        "latency_metric": slowest[0] if slowest else None,
        "p50_ms": slowest[1].get("p50_ms") if slowest else None,
        "p95_ms": slowest[1].get("p95_ms") if slowest else None,
        "p99_ms": slowest[1].get("p99_ms") if slowest else None,
    }


def _slowest_operation(metrics: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    candidates = [
        (key, m) for key, m in metrics.items()
        if m.get("metric") in OPERATION_METRICS and m.get("p95_ms") is not None
    ]
    return max(candidates, key=lambda kv: kv[1]["p95_ms"], default=None)
