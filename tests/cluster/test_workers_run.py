"""``--workers 2`` on Ray against real servers: the server's counts are horde's merged
totals, merged latencies are as exact as one process's, and a killed worker is named."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from tests.support import (
    P50_MARGIN_MS,
    ROOT,
    horde_cli,
    read_results,
    reset_stats,
    server_stats,
)

from horde.demo.launcher import demo_server

# Ray tests run apart, after the rest (`make test`): Ray's own start times out past 30 s
# on a machine as busy as a parallel suite makes it.
pytestmark = [pytest.mark.timeout(150), pytest.mark.ray]

SCENARIO = """
import horde

@horde.on_start
async def connect(user):
    user.state.ws = await user.websocket("/ws", codec=horde.JSON)
    user.state.sio = await user.socketio()
    await user.think(1.2)  # every user connected before any timed request

@horde.behaviour
async def everything(user):
    await user.http.get("/echo", name="echo")
    await user.state.ws.request({"delay_ms": 200}, name="delay")
    await user.state.sio.call("echo", {"n": user.id}, name="echo")
    await user.http.get("/delay/200", name="delay")
    user.events.signal("iteration")
"""


@pytest.fixture(scope="module")
def echo() -> str:
    with demo_server("echo") as url:
        yield url


def run_workers(tmp_path: Path, url: str, *extra: str) -> dict:
    path = tmp_path / "scenario.py"
    path.write_text(textwrap.dedent(SCENARIO))
    out = tmp_path / "out"
    result = horde_cli("run", str(path), "--target", url, "--users", "4", "--spawn-rate", "27",
                       "--iterations", "10", "--quiet", "--no-history", "--out", str(out),
                       *extra, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return read_results(out)


def test_two_workers_send_what_the_server_counts_and_time_it_as_one_process(tmp_path, echo):
    reset_stats(echo)
    results = run_workers(tmp_path, echo, "--workers", "2")
    server = server_stats(echo)
    workers = results["generator"]["workers"]
    assert results["workers"]["count"] == 2 and results["workers"]["lost"] == []
    assert len({w["pid"] for w in workers}) == 2  # two engine processes
    metrics = results["metrics"]
    assert metrics["http_req:echo"]["count"] == metrics["http_req:delay"]["count"] == 40
    assert server["http_requests"] == 80  # /echo and /delay
    assert metrics["ws_reply:delay"]["count"] == server["ws_messages"] == 40
    assert metrics["sio_ack:echo"]["count"] == server["sio_events"] == 40
    assert server["ws_connections"] == server["sio_connections"] == 4
    assert results["connections"]["succeeded"] == 3 * 4  # http, ws, sio per user
    assert results["operations"]["failed"] == 0 and results["passed"] is True
    assert results["events"] == {"iteration": 40}  # every worker's signals, once each
    for key in ("http_req:delay", "ws_reply:delay"):  # as tests/e2e/test_latency_accuracy
        stats = metrics[key]
        assert stats["count"] == 40, key
        assert 200.0 <= stats["p50_ms"] <= 200.0 + P50_MARGIN_MS, (key, stats)
        # The p99 of 40 is the slowest reply, one event: with two engines, Ray, the server
        # and the coordinator sharing the cores it came at 219 and 237 ms under a one-core
        # CPU hog, so a bound on it tests the machine. That the merged p99 is the union's is
        # test_shipping's (exact); here it is never below the delay (nothing under-reported)
        # and nowhere near two workers' values added (400 ms).
        assert 200.0 <= stats["p99_ms"] < 300.0, (key, stats)
    assert results["users"]["peak_active"] == 4


def test_a_local_ray_cluster_runs_the_same_scenario_with_the_same_totals(tmp_path, echo,
                                                                         monkeypatch):
    ray = str(Path(sys.executable).parent / "ray")
    port = str(_free_port())
    # a token, as `ray start` finds one in ~/.ray/auth_token, and RAY_AUTH_MODE unset:
    # the head uses it, and horde must too, with nothing set (docs/scaling.md)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(16))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    started = subprocess.run(
        [ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", port,
         "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"],
        capture_output=True, text=True, timeout=90, env=env)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        reset_stats(echo)
        results = run_workers(tmp_path, echo, "--cluster", f"127.0.0.1:{port}", "--workers",
                              "auto")
        server = server_stats(echo)
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, timeout=90, env=env)
    assert results["workers"]["count"] == 2  # auto: one per CPU of the cluster
    assert results["workers"]["cluster"] == f"127.0.0.1:{port}"
    assert results["metrics"]["http_req:echo"]["count"] == 40
    assert server["http_requests"] == 80
    assert results["metrics"]["sio_ack:echo"]["count"] == 40
    assert results["passed"] is True


def test_a_worker_killed_mid_run_is_named_with_its_users_and_nothing_hangs(tmp_path, echo):
    """With ``--on-worker-lost continue`` (the default, abort, is the next test's)."""
    path = tmp_path / "scenario.py"
    path.write_text(textwrap.dedent(SCENARIO))
    out = tmp_path / "out"
    child = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(path), "--target", echo, "--users", "6",
         "--duration", "12s", "--workers", "2", "--on-worker-lost", "continue", "--quiet",
         "--no-history", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        victim = _loaded_worker(child, echo, deadline=time.monotonic() + 60)
        family = _family(child)
        time.sleep(1)  # a second of load on both
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = child.communicate(timeout=90)
    finally:
        child.kill()
    # the run's Ray instance ended with it: before, its agents outlived it by a minute
    # (their starting thread had ended first; see ray_pool._shut_down_before_threads_end)
    deadline = time.monotonic() + 20
    while _still_running(family) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _still_running(family), _still_running(family)
    results = json.loads((out / "results.json").read_text())
    lost = results["workers"]["lost"]
    assert len(lost) == 1 and lost[0]["pid"] == victim, (lost, stderr[-2000:])
    assert lost[0]["users"] == 3 and len(lost[0]["user_ids"]) == 3
    assert lost[0]["at_s"] is not None and lost[0]["reason"]
    assert "\x1b[" not in stdout + stderr  # Ray's relayed lines too: no terminal, no colours
    assert results["passed"] is False
    rules = [f["rule"] for f in results["analysis"]["findings"]]
    assert "worker_lost" in rules and "all_clear" not in rules
    # what the lost worker counted up to its last answer is still in the run's totals:
    # its connections as well as its connect times (those come in the windows)
    timed = sum(results["metrics"][m]["count"] for m in ("ws_connect", "sio_connect"))
    assert timed == 12  # 6 users, each a WebSocket and a Socket.IO client
    assert results["connections"]["attempted"] >= timed, results["connections"]
    # the other worker carried on to the end of the plan
    assert child.returncode == 1 and results["status"] == "completed"
    assert results["duration_s"] >= 11
    assert "worker(s) lost" in results["verdict"]["reason"]


SELF_KILLING = """
import os, signal
import horde

@horde.on_start
async def connect(user):
    await user.websocket("/ws")
    if user.id == 1:  # on one worker: it dies before its first window closes (1 s),
        await user.think(0.7)  # after a few polls (5 a second) have told its users
        os.kill(os.getpid(), signal.SIGKILL)

@horde.behaviour
async def idle(user):
    await user.think(1)
"""


def test_a_worker_lost_before_its_first_window_aborts_the_run_naming_its_users(tmp_path,
                                                                              echo):
    """The default, ``--on-worker-lost abort``. The lost worker's users come with every
    answer to a poll (5 a second), not only with windows: before, a worker killed in its
    first second was reported with 0 users."""
    path = tmp_path / "scenario.py"
    path.write_text(textwrap.dedent(SELF_KILLING))
    out = tmp_path / "out"
    result = horde_cli("run", str(path), "--target", echo, "--users", "6", "--spawn-rate",
                       "100", "--duration", "5s", "--workers", "2", "--quiet", "--no-history",
                       "--out", str(out), timeout=120)
    results = read_results(out, result)
    lost = results["workers"]["lost"]
    assert result.returncode == 3 and len(lost) == 1, (lost, result.stderr[-2000:])
    assert lost[0]["users"] == 3 and 1 in lost[0]["user_ids"], lost
    assert len(lost[0]["user_ids"]) == 3
    assert sum(row["users_started"] for row in results["timeseries"]) == 6  # both workers'
    assert results["status"] == "aborted" and results["passed"] is False
    assert f"worker {lost[0]['worker']} lost" in results["abort_reason"]
    assert "its 3 users stopped with it" in results["abort_reason"]
    assert "worker_lost" in [f["rule"] for f in results["analysis"]["findings"]]

def _family(run: subprocess.Popen) -> list[psutil.Process]:
    """The run's descendants now: its Ray instance's daemons, agents and workers."""
    try:
        return psutil.Process(run.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _still_running(processes: list[psutil.Process]) -> list[str]:
    alive = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc.name())
        except psutil.NoSuchProcess:
            continue
    return alive


def _engine_workers(run: subprocess.Popen) -> list[int]:
    """This run's engine workers: Ray worker processes among its descendants (Ray started
    the node from the run's process), so a Ray run by anything else here is never hit."""
    found = []
    for proc in _family(run):
        try:
            cmdline = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if "EngineWorker" in cmdline and "ray::" in cmdline:
            found.append(proc.pid)
    return found


def _loaded_worker(run: subprocess.Popen, url: str, deadline: float) -> int:
    """One of the run's two workers, once both hold connections to the server at ``url``
    (their users connected: the load is flowing) — however long Ray took to start."""
    port = int(url.rsplit(":", 1)[1])
    while time.monotonic() < deadline and run.poll() is None:
        workers = _engine_workers(run)
        serving = {c.pid for c in psutil.net_connections(kind="tcp")
                   if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED"}
        if len(workers) >= 2 and all(pid in serving for pid in workers):
            return workers[0]
        time.sleep(0.2)
    raise AssertionError("the run's two workers never both connected")


def _free_port() -> int:
    from tests.support import free_port

    return free_port()


assert ROOT  # tests.support's repository root: the examples the CLI may load


def test_chsh_at_100_teams_on_two_workers_completes_every_team_and_never_splits_one(tmp_path):
    """Teams are groups: both players of each team must come from one worker process,
    and the dashboard (on one worker) must see every team's events from both."""
    with demo_server("chsh") as url:
        port = int(url.rsplit(":", 1)[1])
        owners: dict[int, int] = {}  # client port → pid, seen while the game runs
        child = subprocess.Popen(
            [sys.executable, "-m", "horde", "run", str(ROOT / "examples" / "chsh.py"),
             "--target", url, "--workers", "2", "--param", "teams=100", "--param", "rounds=4",
             "--param", "speed=40", "--connect", "gradual(rate=100)", "--quiet",
             "--no-history", "--out", str(tmp_path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            while child.poll() is None:
                owners.update(_clients_of(port))
                time.sleep(0.3)
            stderr = child.stderr.read() if child.stderr else ""
        finally:
            child.kill()
        peers = _get(url, "/peers")
        answers = _get(url, "/answers")["answers"]
        server = _get(url, "/stats")
    results = read_results(tmp_path)
    # the game's own criteria must hold, except its response-time ones: two engines, Ray
    # and the server share two cores here, and on a busy machine a mean of 100 ms is
    # not the point of this test
    timed = [t for t in results["thresholds"] if "latency" not in t["expression"]]
    assert all(t["passed"] for t in timed), (timed, stderr[-2000:])
    assert results["status"] == "completed" and child.returncode in (0, 1)
    groups = results["groups"]
    assert (groups["planned"], groups["completed"], groups["failed"]) == (100, 100, 0)
    assert results["events"]["team_done"] == 100  # signalled on both workers, summed
    # the dashboard's wait saw all 100 teams form, half of them on the other worker (a
    # timed-out wait would still start the game, and fail only this one check)
    assert results["counters"].get("checks_passed:all_team_formed") == 1
    assert "all_team_formed" not in results["error_details"].get("check_failed", {})
    assert server["rounds_completed"] == 400 and server["answers"] == 800
    assert results["events"]["player_done"] == 200
    workers = {w["pid"] for w in results["generator"]["workers"]}
    teams: dict[str, set[int]] = {}
    for row in answers:
        client_port = int(peers[row["sid"]].rsplit(":", 1)[1])
        teams.setdefault(row["team"], set()).add(owners[client_port])
    assert len(teams) == 100
    assert all(len(pids) == 1 for pids in teams.values())  # never split
    assert {pid for pids in teams.values() for pid in pids} == workers  # both played


def _clients_of(server_port: int) -> dict[int, int]:
    return {c.laddr.port: c.pid for c in psutil.net_connections(kind="tcp")
            if c.raddr and c.raddr.port == server_port and c.pid}


def _get(url: str, path: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url + path, timeout=10) as response:
        return json.load(response)


BLOCKING = """
import sys
import time
import horde

if "default_worker" in sys.argv[0]:  # in a Ray worker (not the coordinator), loading
    time.sleep(17)  # takes longer than a poll may: as on a machine the load keeps busy

@horde.behaviour
async def hog(user):
    if user.id == 0 and user.iteration == 0:
        time.sleep(20)  # blocks this worker's event loop past ray_pool.CALL_TIMEOUT_S (15 s)
    user.count(f"ran:{user.id}")
    await user.think(0.2)
"""


def test_a_worker_whose_loop_is_too_busy_to_answer_is_not_lost(tmp_path):
    """A saturated worker (its loop behind a burst of connects, or blocked) answers
    "busy" from its actor's thread; only a worker that answers nothing is lost. Nor is
    one slow to start: the first call waits for Ray's, horde's and the scenario's
    imports, past 15 s on a busy machine (seen: "no answer to prepare within 15s")."""
    path = tmp_path / "scenario.py"
    path.write_text(BLOCKING)
    out = tmp_path / "out"
    result = horde_cli("run", str(path), "--target", "http://127.0.0.1:1", "--users", "2",
                       "--duration", "24s", "--workers", "2", "--quiet", "--no-history",
                       "--out", str(out), timeout=140)
    results = read_results(out, result)
    assert results["workers"]["lost"] == [], result.stderr[-2000:]
    assert results["status"] == "completed"
    assert "worker 0 is saturated" in result.stderr or "worker 1 is saturated" in result.stderr
    # both went on: the blocked user for the ~4 s left after its 20 s (~20 iterations),
    # the other's worker all along (~120)
    ran = results["counters"]
    assert ran["custom:ran:0"] >= 4 and ran["custom:ran:1"] >= 30, ran
