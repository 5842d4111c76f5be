"""Monitoring as a user meets it, with real processes: horde starts and watches the target
(--server-cmd) or watches one already running (--monitor-pid), knows when it is itself the
bottleneck, and prints plain monitor lines into a log."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
import pytest
from tests.support import ROOT, free_port, horde_cli, read_results, server_stats

from horde.errors import ConfigError
from horde.monitor.target import TargetMonitor, TargetServer

ECHO = str(ROOT / "examples" / "echo.py")

BURN = """
import asyncio
import time

import horde

@horde.behaviour
async def burn(user):
    end = time.perf_counter() + 0.1   # 100 ms of CPU without awaiting: the loop stalls
    while time.perf_counter() < end:
        pass
    user.record("burn", 100)
    await asyncio.sleep(0)
"""

LIGHT = """
import horde

@horde.behaviour
async def tick(user):
    user.record("tick", 1)
    await user.think(0.2)
"""


def serve_cmd(port: int) -> str:
    return f"{sys.executable} -m horde serve echo --port {port}"


def test_server_cmd_starts_watches_and_stops_the_target(tmp_path):
    port = free_port()
    out = tmp_path / "out"
    result = horde_cli(
        "run", ECHO, "--target", f"http://127.0.0.1:{port}", "--users", "10",
        "--duration", "4s", "--server-cmd", serve_cmd(port), "--baseline", "2s",
        "--out", str(out), "--no-history",
    )
    assert result.returncode == 0, result.stderr
    r = read_results(out)
    tm = r["target_monitor"]
    assert tm["cmd"] == serve_cmd(port) and tm["exited"] is False
    baseline, load = tm["baseline"], tm["load"]
    assert baseline["samples"] == 2 and load["samples"] >= 4
    # the server worked under load: CPU above its idle baseline, sockets for the users
    assert load["peak"]["cpu_percent"] > baseline["mean"]["cpu_percent"]
    assert load["peak"]["rss_mb"] > 10 and baseline["mean"]["rss_mb"] > 10
    assert load["peak"]["connections"] >= 20 > baseline["peak"]["connections"]
    assert load["peak"]["threads"] >= 1
    assert tm["cpu_percent_mean"] == load["mean"]["cpu_percent"]
    assert tm["rss_peak_mb"] == load["peak"]["rss_mb"]
    phases = [(s["t"], s["phase"]) for s in tm["timeseries"]]
    assert phases[:2] == [(-1.0, "baseline"), (0.0, "baseline")]
    assert all(p == "load" and t > 0 for t, p in phases[2:])
    assert set(tm["timeseries"][-1]) == {"t", "phase", "cpu_percent", "rss_mb", "threads",
                                         "open_files", "connections"}
    rows = r["timeseries"]
    assert rows[0]["target_cpu_percent"] is not None and rows[0]["target_rss_mb"] > 10
    # the analysis and the reports read it
    assert "target_cpu_percent_per_user" in r["analysis"]["scaling"]
    # the server is gone after the run
    assert not psutil.pid_exists(tm["pid"])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@contextmanager
def echo_process() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """The echo demo in a process of its own, listening: (the process, its port)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "horde", "serve", "echo", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("listening on ")
        yield server, port
    finally:
        server.kill()
        server.wait(10)


def test_monitor_pid_watches_a_running_server_and_leaves_it_running(tmp_path):
    with echo_process() as (server, port):
        out = tmp_path / "out"
        result = horde_cli(
            "run", ECHO, "--target", f"http://127.0.0.1:{port}", "--users", "5",
            "--duration", "3s", "--monitor-pid", str(server.pid), "--baseline", "1s",
            "--out", str(out), "--no-history",
        )
        assert result.returncode == 0, result.stderr
        tm = read_results(out)["target_monitor"]
        assert tm["pid"] == server.pid and "serve echo" in tm["cmd"]
        assert tm["baseline"]["samples"] == 1 and tm["load"]["samples"] >= 3
        assert tm["load"]["peak"]["rss_mb"] > 10
        assert server.poll() is None  # horde watched it; it did not stop it


def test_a_watched_target_that_dies_mid_run_is_said_so(tmp_path):
    """Killed mid-run, the target's absence explains every later error: the console says
    so, results.json says when, and the analysis puts it first."""
    with echo_process() as (server, port):
        out = tmp_path / "out"
        run = subprocess.Popen(
            [sys.executable, "-m", "horde", "run", ECHO, "--target",
             f"http://127.0.0.1:{port}", "--users", "2", "--duration", "4s",
             "--monitor-pid", str(server.pid), "--baseline", "0s", "--out", str(out),
             "--no-history"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        deadline = time.monotonic() + 60  # the load begins whenever the machine lets it
        url = f"http://127.0.0.1:{port}"
        while server_stats(url).get("ws_messages", 0) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        server.kill()  # not reaped until the end: dead is dead, zombie or not
        stdout, _ = run.communicate(timeout=60)
    tm = read_results(out)["target_monitor"]
    assert tm["exited"] is True and tm["exited_at_s"] is not None
    assert f"target pid {server.pid} EXITED during the run (gone at " in stdout
    findings = read_results(out)["analysis"]["findings"]
    assert findings[0]["rule"] == "target_exited"


def test_server_cmd_that_exits_early_is_one_line_and_exit_2(tmp_path):
    cmd = f"{sys.executable} -c 'import sys; sys.exit(\"boom: no config\")'"
    result = horde_cli("run", ECHO, "--target", f"http://127.0.0.1:{free_port()}",
                       "--server-cmd", cmd, "--no-history", timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--server-cmd exited with code 1 before" in lines[0]
    assert "boom: no config" in lines[0]


def test_monitor_pid_and_server_cmd_together_are_refused():
    result = horde_cli("run", ECHO, "--target", "http://127.0.0.1:1", "--monitor-pid", "1",
                       "--server-cmd", "true", "--no-history")
    assert result.returncode == 2
    assert "not both" in result.stderr


async def test_a_server_that_never_answers_is_stopped_with_a_clear_error():
    port = free_port()
    server = TargetServer(f"{sys.executable} -c 'import time; time.sleep(60)'",
                          f"http://127.0.0.1:{port}", startup_timeout_s=1.0, grace_s=1.0)
    with pytest.raises(ConfigError, match=rf"nothing answered on 127.0.0.1:{port} within 1s"):
        await server.start()
    assert server.process is not None and server.process.returncode is not None


async def test_a_port_already_taken_is_refused_before_starting(echo_server):
    server = TargetServer("true", echo_server)
    with pytest.raises(ConfigError, match="already answers"):
        await server.start()
    assert server.process is None


def test_an_overloaded_generator_is_marked_saturated_and_a_light_run_is_not(
    write_scenario, tmp_path,
):
    burn = write_scenario(BURN, "burn.py")
    out = tmp_path / "burn"
    result = horde_cli("run", str(burn), "--target", "http://127.0.0.1:1", "--users", "3",
                       "--duration", "3s", "--monitor-interval", "1", "--out", str(out),
                       "--no-history")
    assert result.returncode == 0, result.stderr
    gen = read_results(out)["generator"]
    assert gen["saturated"] is True
    assert any("event-loop lag" in reason for reason in gen["reasons"])
    assert gen["loop_lag_p99_ms"] > 50
    assert "WARNING: generator saturated" in result.stderr  # live, not only at the end
    series = gen["timeseries"]  # horde's own figures over time (late ticks: a busy loop)
    assert len(series) >= 2 and series[0]["cpu_percent"] > 50
    assert all(s["loop_lag_ms"] is not None and "sent_bytes_per_s" in s for s in series)

    light = write_scenario(LIGHT, "light.py")
    out = tmp_path / "light"
    result = horde_cli("run", str(light), "--target", "http://127.0.0.1:1", "--users", "3",
                       "--duration", "3s", "--out", str(out), "--no-history")
    assert result.returncode == 0, result.stderr
    gen = read_results(out)["generator"]
    assert gen["saturated"] is False and gen["reasons"] == []
    assert "WARNING" not in result.stderr


def test_a_log_gets_a_plain_monitor_line_each_interval(write_scenario):
    light = write_scenario(LIGHT, "light.py")
    result = horde_cli("run", str(light), "--target", "http://127.0.0.1:1", "--users", "2",
                       "--duration", "4s", "--monitor-interval", "1", "--no-history")
    assert result.returncode == 0, result.stderr
    seconds = [int(m) for m in re.findall(r"^\[\s*(\d+)s\] ", result.stderr, re.MULTILINE)]
    assert seconds[:3] == [1, 2, 3], result.stderr
    assert "users 2/2" in result.stderr and "timer:tick p50/p95/p99" in result.stderr
    assert "\x1b[" not in result.stderr  # plain text in a log: no terminal codes

    quiet = horde_cli("run", str(light), "--target", "http://127.0.0.1:1", "--users", "2",
                      "--duration", "2s", "--quiet", "--no-history")
    assert not re.search(r"^\[\s*\d+s\] ", quiet.stderr, re.MULTILINE)


async def test_children_count_with_their_parent():
    """A server started through a shell: the CPU is the child's, counted with the shell's."""
    burn = f"{sys.executable} -c 'while True: pass'"
    shell = subprocess.Popen(["sh", "-c", f"{burn}; true"])
    try:
        await asyncio.sleep(0.3)  # the child has started
        monitor = TargetMonitor(shell.pid)
        monitor.sample()  # finds the child and primes its CPU window
        await asyncio.sleep(1.0)
        figures = monitor.sample()
        assert figures is not None and figures["cpu_percent"] > 40  # the child's busy loop
        assert figures["threads"] >= 2  # shell + child
    finally:
        for child in psutil.Process(shell.pid).children(recursive=True):
            child.kill()
        shell.kill()
        shell.wait(5)
