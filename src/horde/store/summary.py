"""The few figures a run is listed by: requests, throughput, error rate, latency.

Computed from a results dict (a finished run's, or one rebuilt from stored rows), so the
``runs`` table and ``compare`` read the same numbers the reports show.
"""

from __future__ import annotations

from typing import Any

from horde.metrics import names
from horde.metrics.thresholds import path_value


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """``p50/p95/p99_ms`` are those of the slowest request→reply metric (``http_req``,
    ``ws_reply``, ``sio_ack``) by p95: one number that cannot hide a slow endpoint
    behind a fast one."""
    slowest = _slowest_request_metric(results.get("metrics", {}))
    requests = results.get("requests", {})
    return {
        "duration_s": results.get("duration_s"),
        "requests": requests.get("total", 0),
        "rate_per_s": requests.get("rate_per_s", 0.0),
        "messages_received": results.get("messages", {}).get("received", 0),
        "errors_total": results.get("errors_total", 0),
        "error_rate": _error_rate(results),
        "peak_users": results.get("users", {}).get("peak_active"),
        "latency_metric": slowest[0] if slowest else None,
        "p50_ms": slowest[1].get("p50_ms") if slowest else None,
        "p95_ms": slowest[1].get("p95_ms") if slowest else None,
        "p99_ms": slowest[1].get("p99_ms") if slowest else None,
    }


def _slowest_request_metric(metrics: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    candidates = [
        (key, m) for key, m in metrics.items()
        if m.get("metric") in names.REQUEST_METRICS and m.get("p95_ms") is not None
    ]
    return max(candidates, key=lambda kv: kv[1]["p95_ms"], default=None)


def _error_rate(results: dict[str, Any]) -> float | None:
    """Errors ÷ operations (requests + connection attempts), as the ``errors.rate``
    threshold defines it; a rebuilt run without connection counts uses requests only."""
    if results.get("connections", {}).get("attempted") is not None:
        return path_value("errors.rate", results)
    operations = results.get("requests", {}).get("total") or 0
    return round(results.get("errors_total", 0) / operations, 6) if operations else 0.0
