"""What the dashboard's feed keeps of each per-second row."""

from horde.live.feed import columns, compact


def test_rows_keep_the_resources_and_the_generator_warning_the_page_shows():
    row = {"t": 3.0, "users": 5, "cpu_percent": 97.0, "loop_lag_ms": 80.0,
           "target_cpu_percent": 41.5, "generator_warning": "event-loop lag p99 80 ms > 50 ms",
           "metrics": {"ws_reply:x": {"count": 1}}}
    kept = compact(row)
    assert kept["target_cpu_percent"] == 41.5 and kept["cpu_percent"] == 97.0
    assert kept["generator_warning"] == "event-loop lag p99 80 ms > 50 ms"
    assert "metrics" not in kept  # the per-metric breakdown stays in results.json
    assert columns([kept])["columns"]["generator_warning"] == ["event-loop lag p99 80 ms > 50 ms"]


def test_a_row_keeps_each_recorded_value_s_median_only():
    row = {"t": 1.0, "values": {"tokens_per_s": {"count": 4, "p50": 88.5, "mean": 87.0}}}
    assert compact(row)["values"] == {"tokens_per_s": 88.5}
    assert compact({"t": 2.0})["values"] == {}
