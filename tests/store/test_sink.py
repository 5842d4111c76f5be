"""The history sink: each second committed as it comes, cheaply, and never a failed run."""

import io
import logging
import statistics
import time
from pathlib import Path

import pytest

from horde.store.db import open_store
from horde.store.sink import HistorySink


def _row(t: float, metrics: int = 20) -> dict:
    per_metric = {f"http_req:/endpoint/{i}": {"count": 50, "p50_ms": 1.2, "p95_ms": 3.4,
                                              "p99_ms": 5.6} for i in range(metrics)}
    return {"t": t, "users": 100, "users_started": 0, "connections_open": 200, "in_flight": 12,
            "peak_in_flight": 40, "requests": 1000, "messages": 500, "errors": 1,
            "p50_ms": 1.2, "p95_ms": 3.4, "p99_ms": 5.6, "bytes_sent": 100000,
            "bytes_received": 200000, "cpu_percent": 30.0, "rss_mb": 60.0, "loop_lag_ms": 0.8,
            "metrics": per_metric}


def _sink(path: Path) -> HistorySink:
    store = open_store(path)
    store.defer_checkpoints()
    run_id = store.begin_run({"scenario": "s", "target": "http://x", "config": {}})
    return HistorySink(store, run_id, stream=io.StringIO())


def test_a_row_costs_well_under_a_millisecond_on_the_event_loop(tmp_path: Path) -> None:
    """The budget is 1 ms per second of run; a row of 20 metrics measures ~0.1 ms."""
    sink = _sink(tmp_path / "h.sqlite")
    costs = []
    for t in range(1, 401):
        start = time.perf_counter()
        sink.on_row(_row(float(t)))
        costs.append(time.perf_counter() - start)
    assert statistics.mean(costs) < 0.001, f"mean {statistics.mean(costs) * 1000:.3f} ms"
    assert statistics.median(costs) < 0.001


def test_every_row_is_committed_when_on_row_returns(tmp_path: Path) -> None:
    sink = _sink(tmp_path / "h.sqlite")
    reader = open_store(tmp_path / "h.sqlite", create=False)
    for t in (1.0, 2.0):
        sink.on_row(_row(t, metrics=1))
        assert reader.get("latest").rows == int(t)
    sink.on_finish({"status": "completed", "passed": True, "duration_s": 2.0})
    record = reader.get("latest")
    assert (record.status, record.passed) == ("completed", True)
    assert reader.results(record.id)["run_id"] == record.id
    assert "history: run 1 in" in sink.stream.getvalue()


def test_a_failing_history_is_logged_once_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = _sink(tmp_path / "h.sqlite")
    sink.store.conn.execute("DROP TABLE rows")
    with caplog.at_level(logging.WARNING, logger="horde"):
        for t in (1.0, 2.0, 3.0):
            sink.on_row(_row(t))
        sink.on_finish({"status": "completed", "passed": True, "duration_s": 3.0})
    assert len(caplog.records) == 1 and "not stored further" in caplog.text
    assert "history:" not in sink.stream.getvalue()
