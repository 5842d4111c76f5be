"""Results rebuilt from the rows a killed run left: exact sums, marked approximations."""

from horde.store.db import RunRecord
from horde.store.listing import summarize
from horde.store.rebuild import rebuild_results


def _record() -> RunRecord:
    return RunRecord(id=4, started_at="2026-11-23T05:00:00+00:00", finished_at=None,
                     scenario="echo", scenario_file="echo.py", target="http://127.0.0.1:1",
                     config={"users": 3}, status="incomplete", passed=None, duration_s=None,
                     summary=None, rows=3, last_t=3.0)


def _row(t: float, count: int, p95: float, errors: int = 0) -> dict:
    return {"t": t, "users": int(t), "connections_open": 2 * int(t), "peak_in_flight": 3,
            "operations": count, "failed": errors, "unfinished": 0, "messages": 5,
            "errors": errors,
            "errors_by_category": {"http_503": errors} if errors else {}, "bytes_sent": 100,
            "bytes_received": 200, "cpu_percent": 10.0 * t, "rss_mb": 50.0, "loop_lag_ms": 1.0,
            "metrics": {"http_req:delay": {"count": count, "p50_ms": p95 / 2, "p95_ms": p95,
                                           "p99_ms": p95 + 1}}}


def test_totals_are_sums_of_the_rows_and_the_run_is_marked_incomplete() -> None:
    rows = [_row(1.0, 100, 10.0), _row(2.0, 300, 20.0, errors=3), _row(3.0, 100, 10.0)]
    r = rebuild_results(_record(), rows)
    assert r["incomplete"] is True and r["status"] == "incomplete" and r["passed"] is False
    assert r["run_id"] == 4 and r["scenario"] == "echo" and r["config"] == {"users": 3}
    assert r["duration_s"] == 3.0 and r["finished_at"] == "2026-11-23T05:00:03+00:00"
    assert r["operations"]["finished"] == 500 and r["operations"]["rate_per_s"] == 166.67
    assert r["operations"]["failed"] == 3 and r["operations"]["error_rate"] == 0.006
    assert r["messages"]["received"] == 15 and r["errors_total"] == 3
    assert r["errors"] == {"http_503": 3}
    assert r["bytes"] == {"sent": None, "received": None, "payload_sent": 300,
                          "payload_received": 600}  # rows hold payload; the wire is unknown
    assert r["users"]["peak_active"] == 3 and r["connections"]["peak_open"] == 6
    assert r["connections"]["attempted"] is None  # not in the rows: unknown, not zero
    assert r["generator"]["cpu_percent_max"] == 30.0
    assert r["timeseries"] == rows


def test_percentiles_are_count_weighted_and_flagged_approximate() -> None:
    rows = [_row(1.0, 100, 10.0), _row(2.0, 300, 20.0), _row(3.0, 100, 10.0)]
    m = rebuild_results(_record(), rows)["metrics"]["http_req:delay"]
    assert (m["metric"], m["name"], m["count"], m["approximate"]) == ("http_req", "delay", 500, True)
    assert m["p95_ms"] == 16.0  # (100·10 + 300·20 + 100·10) / 500
    assert m["p50_ms"] == 8.0 and m["p99_ms"] == 17.0 and m["max_ms"] == 21.0


def test_a_run_killed_before_its_first_second_still_rebuilds() -> None:
    r = rebuild_results(_record(), [])
    assert r["duration_s"] == 0.0 and r["operations"]["finished"] == 0 and r["metrics"] == {}
    assert summarize(r)["error_rate"] is None  # nothing finished: no rate, not a perfect one


def test_the_summary_of_a_rebuilt_run_uses_its_operations_for_the_error_rate() -> None:
    rows = [_row(1.0, 100, 10.0, errors=5), _row(2.0, 100, 12.0, errors=5)]
    s = summarize(rebuild_results(_record(), rows))
    assert s["operations"] == 200 and s["error_rate"] == 0.05
    assert s["latency_metric"] == "http_req:delay" and s["p95_ms"] == 11.0


def test_values_are_rebuilt_with_their_unit_and_direction() -> None:
    rows = [_row(1.0, 10, 10.0), _row(2.0, 10, 10.0)]
    rows[0]["values"] = {"tokens_per_s": {"count": 10, "p50": 90.0, "mean": 88.0,
                                          "unit": "tokens/s", "better": "higher"}}
    rows[1]["values"] = {"tokens_per_s": {"count": 30, "p50": 70.0, "mean": 72.0,
                                          "unit": "tokens/s", "better": "higher"}}
    values = rebuild_results(_record(), rows)["values"]
    assert values == {"tokens_per_s": {"unit": "tokens/s", "better": "higher", "count": 40,
                                       "mean": 76.0, "p50": 75.0}}
