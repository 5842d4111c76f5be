"""examples/tasks.py through the real command line against the tasks demo server, every
figure checked against what the server itself counted (GET /stats)."""

from __future__ import annotations

from pathlib import Path

from tests.support import ROOT, horde_cli, read_results, server_stats

from horde.demo.launcher import demo_server

SCENARIO = str(ROOT / "examples" / "tasks.py")


def run_tasks(url: str, out: Path, *flags: str) -> tuple[int, dict, dict]:
    proc = horde_cli("run", SCENARIO, "--target", url, "--out", str(out), "-q", *flags)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, read_results(out), server_stats(url)


def test_every_figure_matches_the_servers_counts(tmp_path: Path) -> None:
    with demo_server("tasks") as url:
        code, results, server = run_tasks(url, tmp_path, "--users", "10", "--iterations", "2")
    assert code == 0, results["thresholds"]
    counters = results["counters"]
    assert counters["custom:tasks_started"] == server["tasks_started"] == 20
    assert counters["custom:tasks_completed"] == server["tasks_completed"] == 20
    assert results["connections"]["succeeded"] == server["connections"] == 20
    # every output and every complete the server sent arrived, and was inspected
    received = results["messages"]["received"]
    assert received == server["outputs_sent"] + server["tasks_completed"] == 20 * 4
    assert results["isolation"]["inspected"] == received
    assert results["isolation"]["failures"] == 0 and "leaked" not in server
    assert results["metrics"]["ws_connect"]["count"] == 20
    assert results["streams"]["task"]["completed"] == 20
    assert results["messages"]["received_per_s"] > 0
    assert server["active_sessions"] == 0
    # 10 users connected at once and each task lasts 150 ms: all (or nearly) open together
    assert 8 <= results["connections"]["peak_open"] <= server["peak_sessions"] <= 10


def test_the_leak_fault_is_counted_once_per_leaked_message(tmp_path: Path) -> None:
    with demo_server("tasks", ("--fault=leak",)) as url:
        code, results, server = run_tasks(url, tmp_path, "--users", "10", "--iterations", "1")
    assert code == 1  # the scenario's own THRESHOLDS: isolation.failures == 0
    assert server["leaked"] > 0
    assert results["isolation"]["failures"] == results["errors"]["isolation_failure"]
    assert results["isolation"]["failures"] == server["leaked"]
    failed = [t["expression"] for t in results["thresholds"] if not t["passed"]]
    assert failed == ["isolation.failures == 0"]
    assert results["counters"]["custom:tasks_completed"] == server["tasks_completed"] == 10


def test_horde_demo_tasks_uses_the_scenarios_options(tmp_path: Path) -> None:
    """``horde demo tasks``: OPTIONS' 50 users, connected at once (the 10 s shortened)."""
    proc = horde_cli("demo", "tasks", "--duration", "1s", "--out", str(tmp_path), "-q")
    assert proc.returncode == 0, proc.stderr
    results = read_results(tmp_path)
    assert results["config"]["users"] == 50 and results["config"]["duration_s"] == 1.0
    assert results["load"]["plan"][0]["from"] == 50  # immediate: no ramp
    assert results["users"]["peak_active"] == 50
    counters = results["counters"]
    # tasks still running at the deadline are cut off, and not counted as failures
    assert counters["custom:tasks_completed"] >= 50
    assert counters["custom:tasks_started"] == (
        counters["custom:tasks_completed"] + counters.get("custom:tasks_cut_off", 0)
    )
    assert results["errors"] == {} and results["passed"]
