"""metrics.csv and timeseries.csv hold the very numbers of results.json."""

from __future__ import annotations

import csv

from horde.report.formats.csv import METRIC_COLUMNS


def read(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def optional(cell: str) -> float | None:
    return float(cell) if cell else None


def test_one_row_per_metric_with_every_statistic(echo_results, report_dir):
    rows = read(report_dir / "metrics.csv")
    assert [r["label"] for r in rows] == list(echo_results["metrics"])
    for row in rows:
        m = echo_results["metrics"][row["label"]]
        assert row["metric"] == m["metric"] and row["name"] == (m["name"] or "")
        assert int(row["count"]) == m["count"]
        for column in METRIC_COLUMNS[4:]:
            assert float(row[column]) == m[column], (row["label"], column)


def test_one_row_per_second_with_scalars_and_per_metric_columns(echo_results, report_dir):
    rows = read(report_dir / "timeseries.csv")
    series = echo_results["timeseries"]
    assert len(rows) == len(series) >= 3
    for row, second in zip(rows, series, strict=True):
        assert float(row["t"]) == second["t"]
        for key in ("users", "operations", "failed", "messages", "errors", "bytes_sent",
                    "connections_open"):
            assert int(row[key]) == second[key], key
        assert optional(row["p95_ms"]) == second["p95_ms"]  # None in a second without replies
        for label, stats in second["metrics"].items():
            assert int(row[f"{label}.count"]) == stats["count"]
            assert optional(row[f"{label}.p95_ms"]) == stats["p95_ms"]
    assert sum(int(r["operations"]) for r in rows) == echo_results["operations"]["finished"]
    assert "metrics" not in rows[0]  # nested values become columns, not JSON blobs
