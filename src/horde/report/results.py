"""Build results.json: one plain dict from the aggregator's totals and the run's facts.

Every report format reads this dict, never the live objects, so all formats agree.
The schema is documented in docs/results.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from horde.metrics import names
from horde.metrics.aggregator import Aggregator, label
from horde.metrics.histogram import summarize
from horde.metrics.recorder import Key
from horde.version import __version__

SCHEMA = "horde.results/1"


def build_results(
    aggregator: Aggregator,
    *,
    run: dict[str, Any],
    generator: dict[str, Any],
) -> dict[str, Any]:
    """``run`` holds the facts only the engine knows: config, times, status.

    ``passed`` and ``thresholds`` are left for the runner to fill: thresholds are
    evaluated against this very dict.
    """
    totals = aggregator.totals
    recorder = aggregator.recorder
    elapsed = run["duration_s"] or None
    metrics = {
        label(key): {"metric": key[0], "name": key[1], **summarize(hist, elapsed)}
        for key, hist in sorted(totals.latencies.items(), key=_by_label)
    }
    counters = {label(k): n for k, n in sorted(totals.counters.items(), key=_by_label)}
    errors, details = _errors(totals.errors)
    conns = recorder.connections
    requests = sum(
        h.get_total_count() for (m, _), h in totals.latencies.items() if m in names.REQUEST_METRICS
    )
    received = sum(n for (m, _), n in totals.counters.items() if m in names.MESSAGE_IN_COUNTERS)
    sent = sum(
        n for (m, _), n in totals.counters.items() if m in (names.WS_MSG_OUT, names.SIO_EMIT)
    )
    rows = aggregator.rows
    return {
        "schema": SCHEMA,
        "horde_version": __version__,
        **run,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "passed": None,
        "thresholds": [],
        "connections": {
            "attempted": conns.attempted,
            "succeeded": conns.succeeded,
            "failed": conns.failed,
            "dropped": conns.dropped,
            "reconnected": conns.reconnected,
            "success_rate": _ratio(conns.succeeded, conns.attempted),
            "peak_open": recorder.peak_open_connections,
        },
        "users": {"peak_active": recorder.peak_users},
        "iterations": {
            "completed": sum(
                n for (m, _), n in totals.counters.items() if m == names.ITERATIONS_DONE
            ),
        },
        "requests": {
            "total": requests,
            "rate_per_s": round(requests / elapsed, 2) if elapsed else 0.0,
            "peak_in_flight": recorder.peak_in_flight,
        },
        "messages": {
            "received": received,
            "sent": sent,
            "received_per_s": round(received / elapsed, 2) if elapsed else 0.0,
            "sent_per_s": round(sent / elapsed, 2) if elapsed else 0.0,
        },
        "metrics": metrics,
        "counters": counters,
        "errors": errors,
        "errors_total": sum(errors.values()),
        "error_details": details,
        "error_examples": dict(recorder.error_examples),
        "bytes": {"sent": totals.bytes_sent, "received": totals.bytes_received},
        "generator": generator,
        **{name: report() for name, report in recorder.sections.items()},
        "timeseries": rows,
    }


def _by_label(item: tuple[Key, Any]) -> str:
    return label(item[0])


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _errors(
    raw: dict[tuple[str, str | None], int],
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Counts per category, and per category the split by detail (status, code, type)."""
    errors: dict[str, int] = {}
    details: dict[str, dict[str, int]] = {}
    for (category, detail), n in sorted(raw.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        errors[category] = errors.get(category, 0) + n
        if detail is not None:
            details.setdefault(category, {})[detail] = n
    return errors, details
