"""metrics.csv (one row per latency metric) and timeseries.csv (one row per second), for
spreadsheets and plotting tools. Raw numbers, no formatting; an absent value is empty."""

from __future__ import annotations

import csv
import io
from typing import Any

METRICS_FILE = "metrics.csv"
TIMESERIES_FILE = "timeseries.csv"
METRIC_COLUMNS = ("label", "metric", "name", "count", "rate_per_s", "min_ms", "mean_ms",
                  "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms")
PER_METRIC = ("count", "p50_ms", "p95_ms", "p99_ms")


def render(results: dict[str, Any]) -> dict[str, str]:
    return {METRICS_FILE: metrics_csv(results), TIMESERIES_FILE: timeseries_csv(results)}


def _lead(results: dict[str, Any]) -> tuple[str, ...]:
    """A run rebuilt after a kill leads with an ``incomplete`` column (``true`` on every
    row): a CSV has no header comment a tool would keep, but a column survives."""
    return ("incomplete",) if results.get("incomplete") else ()


def metrics_csv(results: dict[str, Any]) -> str:
    lead = _lead(results)
    rows = [{"label": key, **m, **dict.fromkeys(lead, "true")}
            for key, m in (results.get("metrics") or {}).items()]
    return _write((*lead, *METRIC_COLUMNS), rows)


def timeseries_csv(results: dict[str, Any]) -> str:
    """Scalar columns in order of first appearance, then ``LABEL.count``/``.p95_ms``… per
    metric: rows differ (a metric absent in a second has no entry), so columns are a union."""
    rows = results.get("timeseries") or []
    scalars: dict[str, None] = {}
    labels: dict[str, None] = {}
    for row in rows:
        scalars.update((k, None) for k, v in row.items() if not isinstance(v, dict | list))
        labels.update((label, None) for label in row.get("metrics") or {})
    per_metric = [f"{label}.{stat}" for label in labels for stat in PER_METRIC]
    lead = _lead(results)
    flat = [{**_flat_row(row), **dict.fromkeys(lead, "true")} for row in rows]
    return _write((*lead, *scalars, *per_metric), flat)


def _flat_row(row: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in row.items() if not isinstance(v, dict | list)}
    for label, stats in (row.get("metrics") or {}).items():
        flat.update((f"{label}.{stat}", stats.get(stat)) for stat in PER_METRIC)
    return flat


def _write(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
