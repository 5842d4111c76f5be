"""Live control reaches every worker: the dashboard's user count and stop, and
``--abort-on-fail``, act on a run whose load is on two workers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from tests.support import free_port, read_results, reset_stats, server_stats

# Ray tests run apart, after the rest (`make test`): Ray's own start times out past 30 s
# on a machine as busy as a parallel suite makes it.
pytestmark = [pytest.mark.timeout(150), pytest.mark.ray]

SCENARIO = """
import horde

@horde.behaviour
async def echo(user):
    await user.http.get("/delay/20", name="slow")
    await user.think(0.05)
"""


def start(tmp_path: Path, url: str, *extra: str) -> subprocess.Popen[str]:
    path = tmp_path / "scenario.py"
    path.write_text(textwrap.dedent(SCENARIO))
    return subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(path), "--target", url, "--workers", "2",
         "--quiet", "--no-history", "--out", str(tmp_path / "out"), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def api(port: int, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def wait_rows(port: int, check, timeout: float = 60.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            columns = api(port, "/api/rows")["columns"]
        except OSError:
            columns = None
        if columns and check(columns):
            return columns
        time.sleep(0.2)
    raise AssertionError("the rows never showed it")


def test_the_dashboards_user_count_and_stop_reach_both_workers(tmp_path, echo_server):
    port = free_port()
    child = start(tmp_path, echo_server, "--users", "2", "--duration", "60s", "--ui",
                  "--ui-port", str(port))
    try:
        wait_rows(port, lambda c: c["users"] and c["users"][-1] == 2)
        assert api(port, "/api/users", {"users": 6}) == {"users": 6}
        columns = wait_rows(port, lambda c: c["users"][-1] == 6)
        assert [w["users"] for w in columns["workers"][-1]] == [3, 3]  # split, both obeyed
        api(port, "/api/stop", {})
        child.communicate(timeout=60)
    finally:
        child.kill()
    results = read_results(tmp_path / "out")
    assert child.returncode == 4 and results["status"] == "stopped"
    assert results["duration_s"] < 50
    assert max(r["users"] for r in results["timeseries"]) == 6


def test_abort_on_fail_stops_every_worker(tmp_path, echo_server):
    child = start(tmp_path, echo_server, "--users", "4", "--duration", "60s",
                  "--threshold", "p95(latency) < 1ms", "--abort-on-fail", "--abort-grace", "2s")
    _, stderr = child.communicate(timeout=120)
    results = read_results(tmp_path / "out")
    assert child.returncode == 3, stderr[-2000:]
    assert results["status"] == "aborted" and "threshold failed" in results["abort_reason"]
    assert results["duration_s"] < 50  # not the plan's 60 s
    assert results["workers"]["lost"] == []


# Loads slowly on a worker (a Ray actor process), at once in horde's own process: a
# Ctrl-C two seconds in lands while Ray starts or while the workers load it.
SLOW_TO_LOAD = """
import sys, time
import horde

if any("default_worker" in arg for arg in sys.argv):
    time.sleep(8)

@horde.behaviour
async def echo(user):
    await user.http.get("/echo", name="echo")
"""


def test_ctrl_c_while_the_workers_start_sends_no_load(tmp_path, echo_server):
    reset_stats(echo_server)
    path = tmp_path / "slow.py"
    path.write_text(textwrap.dedent(SLOW_TO_LOAD))
    child = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(path), "--target", echo_server,
         "--workers", "2", "--users", "2", "--duration", "30s", "--quiet", "--no-history",
         "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(2)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=90)
    finally:
        child.kill()
    results = read_results(tmp_path / "out")
    assert child.returncode == 4, err[-2000:]
    assert results["status"] == "interrupted"
    assert results["users"]["peak_active"] == 0
    assert server_stats(echo_server).get("http_requests", 0) == 0  # counted from the first
