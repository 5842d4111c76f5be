"""A results dict for any stored run: the one saved at its end, or — for a run that never
ended (killed) — one rebuilt from the per-second rows it left behind.

A rebuilt dict has the shape of results.json (docs/results.md) with ``"incomplete":
true`` and status ``incomplete``. What the rows hold is exact: the time series, and the
sums of requests, messages, errors (by category) and bytes. What they do not hold is
``None`` or empty: connection counts, error details and examples, thresholds. Per-metric
percentiles are approximations — each second's percentile weighted by that second's
count — because the histograms die with the process; such metrics say
``"approximate": true``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from horde.monitor.generator import over_time, throughput
from horde.report.model import SCHEMA, checked, from_stored
from horde.store.db import RunRecord, RunStore
from horde.version import __version__

INCOMPLETE_NOTE = (
    "the run ended without writing its results (killed?): rebuilt from its per-second "
    "rows; totals are sums of those rows, percentiles are count-weighted approximations"
)


def load_results(store: RunStore, record: RunRecord) -> dict[str, Any]:
    """The stored results of ``record``, rebuilt from its rows when there are none."""
    stored = store.results(record.id)
    if stored is not None:
        stored.setdefault("run_id", record.id)
        return from_stored(stored)
    return checked(rebuild_results(record, store.rows(record.id)))


def rebuild_results(record: RunRecord, rows: list[dict[str, Any]]) -> dict[str, Any]:
    duration = rows[-1]["t"] if rows else 0.0
    finished = _sum(rows, "operations")
    failed = _sum(rows, "failed")
    messages = _sum(rows, "messages")
    errors = _sum(rows, "errors")
    return {
        "schema": SCHEMA,
        "horde_version": __version__,
        "run_id": record.id,
        "scenario": record.scenario,
        "scenario_file": record.scenario_file,
        "target": record.target,
        "config": record.config,
        "started_at": record.started_at,
        "finished_at": _plus(record.started_at, duration),
        "duration_s": duration,
        "status": "incomplete",
        "incomplete": True,
        "incomplete_note": INCOMPLETE_NOTE,
        "abort_reason": None,
        "load": {},
        "passed": False,  # a run that never finished cannot have passed
        "verdict": {"passed": False, "reason": "the run never finished (killed?)"},
        "thresholds": [],
        "operations": {
            "finished": finished, "ok": finished - failed, "failed": failed,
            "unfinished": _sum(rows, "unfinished"),
            "error_rate": round(failed / finished, 6) if finished else None,
            "rate_per_s": _rate(finished, duration),
            "peak_in_flight": max((r.get("peak_in_flight", 0) for r in rows), default=0),
            "failures": {}, "by_kind": {},
        },
        "connections": {
            "attempted": None, "succeeded": None, "failed": None, "unfinished": None,
            "dropped": None, "reconnected": None, "success_rate": None,
            "peak_open": max((r.get("connections_open", 0) for r in rows), default=0),
        },
        "users": {"peak_active": max((r.get("users", 0) for r in rows), default=0)},
        "iterations": {"completed": None, "failed": None, "unfinished": None, "failures": {},
                       "by_behaviour": {}},
        "messages": {
            "received": messages, "sent": None,
            "received_per_s": _rate(messages, duration), "sent_per_s": None,
        },
        "metrics": _metrics(rows, duration),
        "counters": {},
        "errors": _errors_by_category(rows),
        "errors_total": errors,
        "error_details": {},
        "error_examples": {},
        "bytes": {"sent": None, "received": None, "payload_sent": _sum(rows, "bytes_sent"),
                  "payload_received": _sum(rows, "bytes_received")},
        "values": _values(rows),
        "generator": _generator(rows),
        "timeseries": rows,
    }


def _metrics(rows: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    """Per metric: the exact count and rate, and count-weighted mean percentiles."""
    seconds: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        for key, m in row.get("metrics", {}).items():
            seconds.setdefault(key, []).append(m)
    return {key: _metric(key, per_second, duration) for key, per_second in sorted(seconds.items())}


def _metric(key: str, per_second: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    metric, _, name = key.partition(":")
    count = sum(m.get("count", 0) for m in per_second)
    entry: dict[str, Any] = {
        "metric": metric, "name": name or None, "count": count,
        "rate_per_s": _rate(count, duration), "approximate": True,
        "min_ms": None, "mean_ms": None, "p90_ms": None, "p999_ms": None, "max_ms": None,
    }
    for p in ("p50_ms", "p95_ms", "p99_ms"):
        entry[p] = _weighted(per_second, p)
    entry["max_ms"] = max((m["p99_ms"] for m in per_second if m.get("p99_ms") is not None),
                          default=None)  # a lower bound: the worst second's p99
    return entry


def _values(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each recorded value: the exact count, count-weighted mean and median of its seconds
    (approximate, as for latencies), its unit and direction as the rows carried them."""
    seconds: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        for name, v in (row.get("values") or {}).items():
            seconds.setdefault(name, []).append(v)
    return {name: {"unit": per_second[-1].get("unit") or "?",
                   "better": per_second[-1].get("better"),
                   "count": sum(v.get("count", 0) for v in per_second),
                   "mean": _weighted(per_second, "mean"), "p50": _weighted(per_second, "p50")}
            for name, per_second in sorted(seconds.items())}


def _weighted(per_second: list[dict[str, Any]], field: str) -> float | None:
    pairs = [(m[field], m.get("count", 0)) for m in per_second if m.get(field) is not None]
    weight = sum(n for _, n in pairs)
    if not weight:
        return None
    return round(sum(v * n for v, n in pairs) / weight, 3)


def _errors_by_category(rows: list[dict[str, Any]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in rows:
        for category, n in (row.get("errors_by_category") or {}).items():
            totals[category] = totals.get(category, 0) + n
    return dict(sorted(totals.items()))


def _generator(rows: list[dict[str, Any]]) -> dict[str, Any]:
    cpu = [r["cpu_percent"] for r in rows if r.get("cpu_percent") is not None]
    rss = [r["rss_mb"] for r in rows if r.get("rss_mb") is not None]
    lag = [r["loop_lag_ms"] for r in rows if r.get("loop_lag_ms") is not None]
    return {
        "saturated": None, "reasons": [],
        "cpu_percent_mean": round(sum(cpu) / len(cpu), 1) if cpu else None,
        "cpu_percent_max": max(cpu, default=None),
        "rss_peak_mb": max(rss, default=None),
        "loop_lag_p99_ms": max(lag, default=None),  # the worst second, not a p99
        **(_over_time(rows) if rows else {}),
    }


def _over_time(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Network throughput and the figures over time, as a finished run records them."""
    series = over_time(rows)
    return {**throughput(rows, series), "timeseries": series}


def _sum(rows: list[dict[str, Any]], field: str) -> int:
    return sum(r.get(field) or 0 for r in rows)


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 2) if seconds else 0.0


def _plus(iso: str, seconds: float) -> str | None:
    try:
        return (datetime.fromisoformat(iso) + timedelta(seconds=seconds)).isoformat(
            timespec="seconds"
        )
    except ValueError:
        return None

