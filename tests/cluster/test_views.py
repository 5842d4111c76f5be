"""What a run on workers shows while it runs and at its end: each worker's share and
health, the busiest worker's saturation, and a lost worker by name."""

from horde.cluster.health import merged_generator, merged_sample
from horde.cluster.messages import Ready, Tick
from horde.live.terminal.view import format_row
from horde.metrics.shipping import Gauges, PackedWindow
from horde.sinks.console_summary import _generator_line


def tick(users: int, cpu: float, lag: float, warning: str | None = None) -> Tick:
    health = {"cpu_percent": cpu, "rss_mb": 100.0, "loop_lag_ms": lag,
              "generator_warning": warning}
    return Tick(3, PackedWindow(), Gauges(active_users=users), health, float(users))


def test_a_row_sums_the_workers_and_keeps_the_worst_lag_and_any_warning():
    row = merged_sample({"cpu_percent": 4.0},
                        {0: tick(5, 40.0, 2.0), 1: tick(5, 95.0, 80.0, "lag p99 80 ms")}, {2})
    assert (row["cpu_percent"], row["rss_mb"], row["loop_lag_ms"]) == (135.0, 200.0, 80.0)
    assert row["generator_warning"] == "worker 1: lag p99 80 ms"
    assert [w["users"] for w in row["workers"]] == [5, 5] and row["workers_lost"] == 1
    assert row["coordinator_cpu_percent"] == 4.0
    line = format_row({"t": 3, "users": 10, **row}, 10)
    assert "workers 2 (cpu 40/95%, 1 lost)" in line


def test_the_run_is_saturated_when_one_worker_was():
    healthy = {"saturated": False, "reasons": [], "cpu_percent_mean": 40.0,
               "cpu_percent_max": 50.0, "rss_peak_mb": 100.0, "loop_lag_p99_ms": 1.0}
    busy = {**healthy, "saturated": True, "reasons": ["CPU >= 90% of a core in 9/10 s"]}
    own = {"cpu_percent_mean": 3.0, "timeseries": [{"t": 1, "cpu_percent": 120.0}]}
    gen = merged_generator(own, {0: healthy, 1: busy},
                           [Ready(0, 11, "a"), Ready(1, 12, "b")])
    assert gen["saturated"] is True
    assert gen["reasons"] == ["worker 1: CPU >= 90% of a core in 9/10 s"]
    assert gen["cpu_percent_mean"] == 80.0 and gen["cpu_percent_max"] == 120.0
    assert [(w["pid"], w["node"]) for w in gen["workers"]] == [(11, "a"), (12, "b")]
    assert gen["coordinator"]["cpu_percent_mean"] == 3.0


def test_the_summary_names_a_lost_worker():
    results = {"generator": {"cpu_percent_mean": 80.0},
               "workers": {"count": 2, "nodes": ["vm"], "lost": [
                   {"worker": 1, "at_s": 4.2, "users": 3, "reason": "SIGKILL"}]}}
    line = _generator_line(results)
    assert "2 workers on 1 node" in line
    assert "worker 1 LOST at 4.2 s with its 3 users: SIGKILL" in line
