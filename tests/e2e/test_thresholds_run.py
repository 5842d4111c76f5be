"""Thresholds decide the exit code of a real run."""

import pytest
from tests.support import horde_cli, read_results

SCENARIO = """
import horde

@horde.behaviour
async def get(user):
    await user.http.get("/delay/20", name="slow")
"""


@pytest.mark.parametrize(
    ("threshold", "code", "passed"),
    [("p95(http_req{name=slow}) < 200ms", 0, True), ("p95(latency) < 5ms", 1, False)],
)
def test_exit_code_follows_the_thresholds(write_scenario, tmp_path, echo_server, threshold, code, passed):
    out = tmp_path / "out"
    result = horde_cli(
        "run", str(write_scenario(SCENARIO)), "--target", echo_server, "--users", "2",
        "--iterations", "5", "--quiet", "--out", str(out), "--threshold", threshold,
        "--threshold", "errors.rate == 0",
    )
    assert result.returncode == code, result.stderr
    results = read_results(out)
    assert results["passed"] is passed
    first, second = results["thresholds"]
    assert first["expression"] == threshold and first["passed"] is passed
    assert 20.0 <= first["observed"] < 40.0
    assert second == {"expression": "errors.rate == 0", "observed": 0.0, "passed": True,
                      "reason": "observed 0"}
    assert ("✓" if passed else "✗") in result.stdout


def test_a_bad_threshold_is_bad_input(write_scenario):
    result = horde_cli(
        "run", str(write_scenario(SCENARIO)), "--target", "http://127.0.0.1:1",
        "--threshold", "p95(http_req) <",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "horde: error: bad threshold 'p95(http_req) <': expected LEFT OP VALUE, e.g. 'p95(http_req) < 200ms'"
    ]


def test_abort_on_fail_stops_early_and_still_writes_results(write_scenario, tmp_path, echo_server):
    out = tmp_path / "out"
    result = horde_cli(
        "run", str(write_scenario(SCENARIO)), "--target", echo_server, "--users", "2",
        "--duration", "60s", "--quiet", "--out", str(out),
        "--threshold", "p95(http_req) < 5ms", "--abort-on-fail", "--abort-grace", "1s",
    )
    assert result.returncode == 3, result.stderr  # aborted: its own exit code
    results = read_results(out)
    assert results["status"] == "aborted" and results["passed"] is False
    assert results["abort_reason"].startswith("threshold failed at ")
    assert "p95(http_req) < 5ms" in results["abort_reason"]
    assert results["duration_s"] < 5  # not the 60 s asked for
    assert results["metrics"]["http_req:slow"]["count"] > 10
    assert "aborted" in result.stdout


def test_abort_on_fail_lets_a_passing_run_finish(write_scenario, tmp_path, echo_server):
    out = tmp_path / "out"
    result = horde_cli(
        "run", str(write_scenario(SCENARIO)), "--target", echo_server, "--users", "2",
        "--duration", "3s", "--quiet", "--out", str(out),
        "--threshold", "p95(http_req) < 500ms", "--abort-on-fail", "--abort-grace", "1s",
    )
    assert result.returncode == 0, result.stderr
    results = read_results(out)
    assert results["status"] == "completed" and results["abort_reason"] is None
    assert results["duration_s"] >= 3
